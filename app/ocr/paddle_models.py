"""What the PaddleOCR engine needs (:mod:`app.ocr.paddle`): the official inference model
directories it loads from ``weights/``, their model names, PaddlePaddle, and (with
``DEVICE_GPU`` >= 0) a GPU PaddlePaddle can see; checked without importing paddle unless
the GPU probe is asked for.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

from app.config import Settings
from app.requirements import CheckContext, Requirement, package_requirement, register_check

PADDLE_INSTALL_PAGE = "https://www.paddlepaddle.org.cn/install/quick"
PADDLE_MODEL_TARBALL_URL = (
    "https://paddle-model-ecology.bj.bcebos.com/paddlex/official_inference_model/paddle3.0.0/{name}_infer.tar"
)

# Optional PaddleOCR pre-processing models. They are used only when a setting
# with this name exists and is non-empty (Settings does not define them yet):
# setting name -> (PaddleOCR keyword prefix, human name).
PADDLE_OPTIONAL_MODELS = {
    "paddle_doc_orientation_model_dir": ("doc_orientation_classify", "document orientation model"),
    "paddle_doc_unwarping_model_dir": ("doc_unwarping", "document unwarping model"),
    "paddle_textline_orientation_model_dir": ("textline_orientation", "text line orientation model"),
}


def read_inference_model_name(model_dir: Path) -> str:
    """``Global.model_name`` from ``model_dir/inference.yml``, or "" when unreadable."""
    path = Path(model_dir) / "inference.yml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    try:
        import yaml

        data = yaml.safe_load(text) or {}
        name = (data.get("Global") or {}).get("model_name") if isinstance(data, dict) else None
        return str(name).strip() if name else ""
    except Exception:  # no PyYAML, or malformed YAML: fall back to a line scan
        pass
    match = re.search(r"^Global:\s*\n(?:[ \t]+.*\n)*?[ \t]+model_name:\s*['\"]?([^'\"\n#]+)", text, re.MULTILINE)
    return match.group(1).strip() if match else ""


def derive_model_name(model_dir: Path, configured: str = "") -> str:
    """PaddleX model name for ``model_dir``.

    Order: the configured name; ``Global.model_name`` of ``inference.yml``;
    the directory name without a trailing ``_infer``.
    """
    if configured.strip():
        return configured.strip()
    from_yml = read_inference_model_name(model_dir)
    if from_yml:
        return from_yml
    name = Path(model_dir).name
    return name[: -len("_infer")] if name.endswith("_infer") else name


def paddle_model_files_problems(model_dir: Path) -> list[str]:
    """What is wrong with an inference model directory (empty list when usable).

    A usable directory holds ``inference.json`` (Paddle 3 PIR) or
    ``inference.pdmodel`` (legacy), plus ``inference.pdiparams`` and
    ``inference.yml``.
    """
    model_dir = Path(model_dir)
    if not model_dir.exists():
        return [f"{model_dir} does not exist"]
    if not model_dir.is_dir():
        return [f"{model_dir} is not a directory"]
    problems = []
    if not ((model_dir / "inference.json").is_file() or (model_dir / "inference.pdmodel").is_file()):
        problems.append(f"{model_dir} has neither inference.json nor inference.pdmodel")
    for name in ("inference.pdiparams", "inference.yml"):
        if not (model_dir / name).is_file():
            problems.append(f"{model_dir} has no {name}")
    return problems


def paddle_model_requirement(label: str, model_dir: Path, configured_name: str, env_var: str) -> Requirement:
    """Requirement for one PaddleOCR inference model directory.

    Args:
        label: human name, e.g. ``PaddleOCR text detection model``.
        model_dir: resolved directory.
        configured_name: the model-name setting ("" when unset).
        env_var: variable that points at the directory (named in the advice).
    """
    name = derive_model_name(model_dir, configured_name)
    tarball = PADDLE_MODEL_TARBALL_URL.format(name=name)
    how = (
        f"download the official inference model {tarball} (listed in PaddleOCR's model list; "
        f"or `huggingface-cli download PaddlePaddle/{name} --local-dir {model_dir}`), "
        f"untar it into the weights directory (`tar -xf {name}_infer.tar -C {model_dir.parent}`) and rename "
        f"{name}_infer to {model_dir.name}, or set {env_var} to the unpacked directory"
    )
    problems = paddle_model_files_problems(model_dir)
    if not problems:
        in_yml = read_inference_model_name(model_dir)
        if configured_name.strip() and in_yml and in_yml != configured_name.strip():
            problems.append(
                f"the configured model name {configured_name.strip()!r} does not match "
                f"Global.model_name {in_yml!r} in {model_dir / 'inference.yml'}"
            )
            how = f"fix the model-name setting (or leave it empty to read it from inference.yml), or point {env_var} at the right model"
    if problems:
        return Requirement(label, False, "; ".join(problems), how)
    return Requirement(label, True, f"{model_dir} (model {name})", how)


def paddle_model_plan(settings: Settings) -> dict[str, dict]:
    """The PaddleOCR models the settings ask for.

    Returns:
        ``{role: {"dir": Path, "name": str, "configured_name": str,
        "label": str, "env": str}}`` for ``text_detection`` and
        ``text_recognition``, plus any optional pre-processing model whose
        directory setting exists and is non-empty (keyed by its PaddleOCR
        keyword prefix, e.g. ``textline_orientation``).
    """
    plan = {
        "text_detection": {
            "dir": settings.resolve_weights_path(settings.paddle_det_model_dir),
            "configured_name": settings.paddle_det_model_name,
            "label": "PaddleOCR text detection model",
            "env": "PADDLE_DET_MODEL_DIR",
        },
        "text_recognition": {
            "dir": settings.resolve_weights_path(settings.paddle_rec_model_dir),
            "configured_name": settings.paddle_rec_model_name,
            "label": "PaddleOCR text recognition model",
            "env": "PADDLE_REC_MODEL_DIR",
        },
    }
    for attr, (prefix, human) in PADDLE_OPTIONAL_MODELS.items():
        value = str(getattr(settings, attr, "") or "").strip()
        if value:
            plan[prefix] = {
                "dir": settings.resolve_weights_path(value),
                "configured_name": "",
                "label": f"PaddleOCR {human}",
                "env": attr.upper(),
            }
    for entry in plan.values():
        entry["name"] = derive_model_name(entry["dir"], entry["configured_name"])
    return plan


def paddle_install_advice(device_gpu: int) -> str:
    """How to install PaddlePaddle for the configured device."""
    if device_gpu >= 0:
        return (
            f"pip install paddlepaddle-gpu from the index for your CUDA version, as given on {PADDLE_INSTALL_PAGE} "
            "(e.g. `pip install paddlepaddle-gpu -i https://www.paddlepaddle.org.cn/packages/stable/cu126/`); "
            "or set DEVICE_GPU=-1 and `pip install paddlepaddle` to run on CPU"
        )
    return f"pip install paddlepaddle (CPU; for a GPU install paddlepaddle-gpu as given on {PADDLE_INSTALL_PAGE})"


def paddle_gpu_requirement(device_gpu: int, paddle_module: ModuleType | None = None) -> Requirement:
    """Whether PaddlePaddle can run on GPU ``device_gpu``.

    Args:
        device_gpu: GPU index asked for (>= 0).
        paddle_module: the imported ``paddle``; imported here when None.

    Returns:
        A requirement named ``GPU <id> visible to paddle``.
    """
    label = f"GPU {device_gpu} visible to paddle"
    if paddle_module is None:
        try:
            import paddle as paddle_module  # heavy: only when a GPU check is asked for
        except Exception as e:  # ImportError, or OSError from a missing CUDA library
            return Requirement(
                label, False, f"import paddle failed: {type(e).__name__}: {e}", paddle_install_advice(device_gpu)
            )
    device = paddle_module.device
    try:
        compiled = bool(device.is_compiled_with_cuda())
    except Exception as e:
        return Requirement(label, False, f"paddle.device.is_compiled_with_cuda() failed: {e}", "")
    if not compiled:
        return Requirement(
            label,
            False,
            f"DEVICE_GPU={device_gpu} asks for a GPU, but the installed paddle is a CPU-only build "
            "(paddle.device.is_compiled_with_cuda() is False)",
            "pip uninstall paddlepaddle && " + paddle_install_advice(device_gpu),
        )
    try:
        count = int(device.cuda.device_count())
    except Exception as e:
        count, error = 0, f" ({type(e).__name__}: {e})"
    else:
        error = ""
    if count == 0:
        return Requirement(
            label,
            False,
            f"paddle is built with CUDA but sees no GPU{error}",
            "check the NVIDIA driver (`nvidia-smi`), CUDA_VISIBLE_DEVICES and the container's GPU access "
            "(`--gpus all`); the paddlepaddle-gpu build must match the driver's CUDA version; "
            "or set DEVICE_GPU=-1 to run on CPU",
        )
    if device_gpu >= count:
        return Requirement(
            label,
            False,
            f"DEVICE_GPU={device_gpu} but paddle sees {count} GPU(s) (ids 0..{count - 1})",
            f"set DEVICE_GPU to a value between 0 and {count - 1}, or -1 for CPU",
        )
    return Requirement(label, True, f"paddle sees {count} GPU(s); using gpu:{device_gpu}")


def check_paddleocr(settings: Settings, probe_gpu: bool = True) -> list[Requirement]:
    """paddleocr, paddle, the inference model directories and (optionally) the GPU.

    Args:
        settings: service settings (model dirs, names, ``device_gpu``).
        probe_gpu: when ``device_gpu >= 0`` and paddle is installed, import
            paddle and check that it sees the GPU.
    """
    reqs = [
        package_requirement("paddleocr", "pip install paddleocr  (PaddleOCR 3.x; it also needs paddlepaddle)"),
        package_requirement(
            "paddle", paddle_install_advice(settings.device_gpu), label="package paddle (paddlepaddle)"
        ),
    ]
    for entry in paddle_model_plan(settings).values():
        reqs.append(paddle_model_requirement(entry["label"], entry["dir"], entry["configured_name"], entry["env"]))
    if settings.device_gpu >= 0 and probe_gpu and reqs[1].present:
        reqs.append(paddle_gpu_requirement(settings.device_gpu))
    return reqs


@register_check("paddleocr", "OCR engine paddleocr")
def _check(context: CheckContext) -> list[Requirement]:
    return check_paddleocr(context.settings, probe_gpu=context.probe_gpu)
