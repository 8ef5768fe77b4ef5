"""What a component needs to run (packages, model files, a GPU), whether it is there, and
how to get it: :class:`Requirement` lists, and the registry of each component's check.

Each engine checks its own files where it lives (``app/ocr/rapid.py``,
``app/ocr/hybrid.py``, ``app/ocr/paddle_models.py``, ``app/llm/local.py``) and registers the
check by name with :func:`register_check`; ``python -m app weights check``
(:mod:`app.weights`) and the engines' start-up checks use them. The checks look at files
and installed packages (through :func:`importlib.util.find_spec`, which does not execute
the package); only the PaddlePaddle GPU probe imports a heavy library, and only when asked.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from app.config import Settings


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


@dataclass(frozen=True)
class CheckContext:
    """What a component's check may look at.

    Attributes:
        settings: service settings.
        gguf_path: the GGUF file for ``llamacpp`` (``LLM_GGUF_PATH``; None: the default).
        hf_home: the Hugging Face home for ``vllm`` (``HF_HOME``; None: ``~/.cache/huggingface``).
        probe_gpu: whether a check may import a GPU library to look for the GPU.
    """

    settings: Settings
    gguf_path: str | os.PathLike | None = None
    hf_home: str | os.PathLike | None = None
    probe_gpu: bool = True


#: component name -> the module that registers its check (imported when it is asked for)
CHECK_MODULES = {"rapidocr": "app.ocr.rapid", "hybrid": "app.ocr.hybrid", "paddleocr": "app.ocr.paddle_models",
                 "llamacpp": "app.llm.local", "vllm": "app.llm.local"}
_CHECKS: dict[str, tuple[str, Callable[[CheckContext], list[Requirement]]]] = {}


def register_check(name: str, title: str) -> Callable:
    """Decorator: register ``fn(CheckContext) -> list[Requirement]`` as component ``name``'s
    check; ``title`` heads its part of the report (``OCR engine rapidocr``)."""

    def decorator(fn):
        _CHECKS[name] = (title, fn)
        return fn

    return decorator


def _registered(name: str):
    if name not in _CHECKS and name in CHECK_MODULES:
        importlib.import_module(CHECK_MODULES[name])
    if name not in _CHECKS:
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(CHECK_MODULES)}")
    return _CHECKS[name]


def check_component(name: str, context: CheckContext) -> list[Requirement]:
    """Requirements of component ``name`` (one of :data:`CHECK_MODULES`).

    Raises:
        ValueError: unknown name.
    """
    return _registered(name)[1](context)


def check_title(name: str) -> str:
    """The report heading of component ``name``."""
    return _registered(name)[0]
