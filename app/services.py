"""The services every door uses, built once per process: the OCR engine, the LLM
client, the field extractor and the :class:`~app.pipeline.DocumentPipeline`
over them. The HTTP app (:func:`app.create_app`), the gRPC server
(:mod:`app.grpc.server`) and the job worker (:mod:`app.jobs.worker`, which
builds the parts lazily so an extraction-only worker loads no OCR model) all
build them here.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings


@dataclass(frozen=True)
class Services:
    """What the routes use, built once per app (per gunicorn worker)."""

    settings: Settings
    ocr_engine: object
    llm: object
    extractor: object
    pipeline: object
    admission: object = None


def make_extractor(settings: Settings, llm_client=None):
    """``(llm client, FieldExtractor)`` from ``settings``; ``llm_client`` replaces the
    client built from ``LLM_*`` settings (tests). Opens no connection."""
    from app.extraction.extractor import FieldExtractor
    from app.llm.client import LLMClient
    from app.llm.prompts import PromptBuilder

    llm = llm_client if llm_client is not None else LLMClient.from_settings(settings)
    return llm, FieldExtractor(llm, PromptBuilder(settings.prompt_style), max_tokens=settings.llm_max_tokens)


def make_ocr_engine(settings: Settings, ocr_engine=None):
    """The OCR engine ``OCR_ENGINE`` names, or ``ocr_engine`` when given (tests).

    Raises:
        EngineUnavailable: the engine cannot load.
    """
    from app.ocr.base import create_engine

    return ocr_engine if ocr_engine is not None else create_engine(settings)


def build_services(settings: Settings, *, ocr_engine=None, llm_client=None) -> Services:
    """Build the OCR engine, LLM client, extractor and pipeline every door uses
    (the HTTP app, :func:`app.create_app`; the gRPC server, :mod:`app.grpc.server`).

    Args:
        settings: run-time settings.
        ocr_engine: an engine to use instead of the one ``settings`` names.
        llm_client: an LLM client to use instead of one built from ``settings``.

    Raises:
        EngineUnavailable: the OCR engine cannot load.
    """
    from app.pipeline import DocumentPipeline

    engine = make_ocr_engine(settings, ocr_engine)
    llm, extractor = make_extractor(settings, llm_client)
    return Services(settings, engine, llm, extractor, DocumentPipeline(settings, engine, extractor))
