"""OCR engine base class and registry.

Engines are registered by name with :func:`register_engine` and built by
:func:`create_engine`; an engine module (and its heavy imports) is loaded only
when that engine is selected (``OCR_ENGINE``).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import Callable

import numpy as np

from app.config import Settings
from app.domain import OcrResult
from app.errors import EngineUnavailable

# name -> module that registers it (imported lazily)
_ENGINE_MODULES = {
    "rapidocr": "app.ocr.rapid",
    "paddleocr": "app.ocr.paddle",
    "hybrid": "app.ocr.hybrid",
}
_REGISTRY: dict[str, Callable[[Settings], "OcrEngine"]] = {}


class OcrEngine(ABC):
    """Text detection + recognition over one image.

    Subclasses must be safe to call from several threads (serialise internally
    if the backend is not).
    """

    name = "base"

    @abstractmethod
    def recognize(self, image: np.ndarray) -> OcrResult:
        """Detect and recognise text lines.

        Args:
            image: ``(H, W, 3)`` uint8 BGR image.

        Returns:
            OcrResult with lines in reading order and stage timings in ms.

        Raises:
            OcrEngineError: the backend failed on this image.
        """

    def describe(self) -> dict:
        """Facts for logs and ``/ready``: engine name, models, device."""
        return {"engine": self.name}


def register_engine(name: str) -> Callable:
    """Class decorator: make an engine available under ``name``."""

    def decorator(factory):
        _REGISTRY[name] = factory
        return factory

    return decorator


def available_engines() -> list[str]:
    return sorted(_ENGINE_MODULES)


def create_engine(settings: Settings) -> OcrEngine:
    """Build the engine named by ``settings.ocr_engine``.

    Raises:
        EngineUnavailable: unknown name, missing package or model files; the
            message says what is missing and how to provide it.
    """
    name = settings.ocr_engine
    module = _ENGINE_MODULES.get(name)
    if module is None:
        raise EngineUnavailable(f"Unknown OCR_ENGINE {name!r}; choose one of {', '.join(available_engines())}")
    importlib.import_module(module)
    return _REGISTRY[name](settings)
