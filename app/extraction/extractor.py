"""OCR text -> field values, by a local LLM.

Two modes (config key ``mode``):

* ``per_field``: one short LLM call per field, fanned out over a thread pool
  of ``batch_size`` workers (or run one after another when ``parallel`` is
  false). Each call has its own ``llm_timeout``.
* ``schema``: one call asking for all fields at once, the output constrained
  by a JSON schema (request form per backend, see :mod:`app.llm.client`).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from app.domain import Extraction, FieldError, OcrResult
from app.errors import LLMError, LLMRejected, LLMTimeout, LLMUnavailable
from app.llm.client import LLMClient
from app.llm.prompts import MAX_VALUE_CHARS, PromptBuilder, clean_value, parse_json_object

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractOptions:
    """Per-request extraction options (validated by the API layer).

    Attributes:
        mode: ``per_field`` or ``schema``.
        parallel: fan per-field calls out over threads.
        batch_size: most concurrent LLM calls for one document (>= 1).
        llm_timeout: seconds allowed for each LLM call.
    """

    mode: str = "per_field"
    parallel: bool = True
    batch_size: int = 3
    llm_timeout: float = 30.0


class FieldExtractor:
    """Extracts caller-described fields from an :class:`OcrResult`.

    Args:
        llm: client of the LLM server.
        prompts: prompt builder matching the served model (base or instruct).
        max_tokens: generation limit per field (``per_field``); the schema
            call's limit follows from the schema's per-value length bound.
    """

    def __init__(self, llm: LLMClient, prompts: PromptBuilder, max_tokens: int = 64):
        self.llm = llm
        self.prompts = prompts
        self.max_tokens = max_tokens

    def extract(self, ocr: OcrResult, info: dict[str, str], options: ExtractOptions) -> Extraction:
        """Extract every field in ``info``.

        Args:
            ocr: OCR output of one document.
            info: field key -> description (Vietnamese or English).
            options: mode, fan-out and timeout.

        Returns:
            Extraction with a value (or None) for every key of ``info``; fields
            whose call failed are None and listed in ``errors``.

        Raises:
            LLMUnavailable, LLMTimeout, LLMRejected: every field failed for that
                reason (the server is down, too slow, or refuses our requests).
        """
        start = time.perf_counter()
        document, truncated = self.prompts.document_text(ocr)
        warnings = []
        if truncated:
            warnings.append(
                f"OCR text was {len(ocr.text)} characters; only the first {self.prompts.max_document_chars} "
                "were given to the LLM"
            )
        if not document.strip():
            # Nothing was read: no LLM call can ground a value.
            return Extraction({k: None for k in info}, _ms(start), options.mode,
                              warnings=tuple(warnings + ["No text was detected in the image"]))
        if options.mode == "schema":
            values, errors = self._extract_schema(document, info, options)
        else:
            values, errors = self._extract_per_field(document, info, options)
        if errors and len(errors) == len(info):
            _raise_common(errors)
        return Extraction(values, _ms(start), options.mode, errors=errors, warnings=tuple(warnings))

    # ----------------------------------------------------------------- modes
    def _ask_field(self, document: str, description: str, timeout: float) -> str | None:
        if self.prompts.style == "base":
            raw = self.llm.complete(self.prompts.field_prompt(document, description), max_tokens=self.max_tokens,
                                    stop=("\n",), timeout=timeout)
        else:
            raw = self.llm.chat(self.prompts.field_messages(document, description), max_tokens=self.max_tokens,
                                timeout=timeout)
        return clean_value(raw)

    def _extract_per_field(self, document, info, options):
        values: dict[str, str | None] = {k: None for k in info}
        errors: dict[str, FieldError] = {}
        keys = list(info)

        def run(key):
            try:
                return key, self._ask_field(document, info[key], options.llm_timeout), None
            except LLMError as e:
                return key, None, e

        if options.parallel and options.batch_size > 1 and len(keys) > 1:
            with ThreadPoolExecutor(max_workers=min(options.batch_size, len(keys)),
                                    thread_name_prefix="llm-field") as pool:
                outcomes = list(pool.map(run, keys))
        else:
            outcomes = [run(k) for k in keys]
        for key, value, error in outcomes:
            values[key] = value
            if error is not None:
                errors[key] = FieldError(error.code, error.message)
                if isinstance(error, LLMUnavailable):
                    log.warning("field %s: %s", key, error.message)
        return values, errors

    def _extract_schema(self, document, info, options):
        keys = list(info)
        schema = self.prompts.schema(info)
        # Room for every value at its longest (MAX_VALUE_CHARS, >= 1 char per token) plus JSON syntax.
        max_tokens = 24 + (MAX_VALUE_CHARS + 16) * len(keys)
        try:
            raw = self.llm.chat(self.prompts.schema_messages(document, info), max_tokens=max_tokens,
                                json_schema=schema, timeout=options.llm_timeout)
        except LLMError as e:
            return {k: None for k in keys}, {k: FieldError(e.code, e.message) for k in keys}
        try:
            return parse_json_object(raw, keys), {}
        except ValueError as e:
            # The server did not honour the schema (e.g. output cut at max_tokens).
            log.warning("schema mode: unparseable answer (%s): %.200r", e, raw)
            error = FieldError("LLM_BAD_OUTPUT", f"The LLM's answer was not valid JSON: {e}")
            return {k: None for k in keys}, {k: error for k in keys}


def _raise_common(errors: dict[str, FieldError]) -> None:
    """Raise the service error shared by all failed fields, if they share one."""
    codes = {e.code for e in errors.values()}
    message = next(iter(errors.values())).message
    for cls in (LLMUnavailable, LLMTimeout, LLMRejected):
        if codes == {cls.code}:
            raise cls(message)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
