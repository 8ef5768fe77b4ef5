"""App factories for end-to-end runs under gunicorn that need a fault injected.

``exploding_app()`` is the real app (real RapidOCR, real LLM client) whose OCR
engine raises an unexpected ``RuntimeError`` for 13-pixel-wide images, to check
over HTTP that an internal failure becomes ``SYSTEM_ERROR`` 500 with no
traceback in the body.
"""

from app import create_app
from app.config import Settings
from app.ocr.rapid import RapidOcrEngine


class ExplodingEngine(RapidOcrEngine):
    def recognize(self, image):
        if image.shape[1] == 13:
            raise RuntimeError("simulated engine crash with internal details")
        return super().recognize(image)


def exploding_app():
    settings = Settings.from_env()
    return create_app(settings, ocr_engine=ExplodingEngine(settings))
