"""OCR text -> field values, by a local LLM.

Two modes (config key ``mode``):

* ``per_field``: one short LLM call per field, fanned out over a thread pool
  of ``batch_size`` workers (or run one after another when ``parallel`` is
  false). Each call has its own ``llm_timeout``.
* ``schema``: one call asking for all fields at once, the output constrained
  by a JSON schema (request form per backend, see :mod:`app.llm.client`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from app.domain import Candidate, Extraction, FieldError, OcrResult
from app.errors import LLMError, LLMRejected, LLMTimeout, LLMUnavailable
from app.classify.mapping import implied_kind
from app.extraction.doctypes import DOCUMENT_TYPES, FieldSpec, resolve_fields
from app.extraction.checks import apply_checks
from app.extraction.fields import LLM_CONFIDENCE, combine, llm_candidate
from app.extraction.line_items import LINE_ITEM_TYPES, read_line_items
from app.extraction.rules import RuleReader
from app.llm.client import LLMClient
from app.llm.prompts import MAX_VALUE_CHARS, PromptBuilder, clean_value, parse_json_object

log = logging.getLogger(__name__)

#: ``document_type`` value (like None) asking for the type to be detected (:func:`app.classify.classify`).
AUTO = "auto"


@dataclass(frozen=True)
class ExtractOptions:
    """Per-request extraction options (validated by the API layer).

    Attributes:
        mode: ``per_field`` or ``schema``.
        parallel: fan per-field calls out over threads.
        batch_size: most concurrent LLM calls for one document (>= 1).
        llm_timeout: seconds allowed for each LLM call.
        deadline: ``time.monotonic()`` instant by which the whole request must
            be answered (``REQUEST_TIMEOUT``); every LLM call ends by then.
            None for no deadline.
        einvoice_xml: read e-invoice XML (an XML upload, the XML inside a PDF;
            :mod:`app.einvoice`); None: the server's ``EINVOICE_XML`` setting.
    """

    mode: str = "per_field"
    parallel: bool = True
    batch_size: int = 3
    llm_timeout: float = 30.0
    deadline: float | None = None
    einvoice_xml: bool | None = None


class FieldExtractor:
    """Extracts caller-described fields from an :class:`OcrResult`.

    Args:
        llm: client of the LLM server.
        prompts: prompt builder matching the served model (base or instruct).
        max_tokens: generation limit per field (``per_field``); the schema
            call's limit follows from the schema's per-value length bound.
        rules: the caption/pattern reader (document types only).
        llm_threshold: fields whose best reader confidence is below this are
            asked of the LLM.
        drop_unsupported: an LLM value that is neither grounded in the OCR text
            nor valid for its kind (a date or amount that does not parse, a
            document number without a digit) is left out of ``fields`` (None);
            ``details`` keeps it with ``checks["dropped"]`` saying why.
    """

    def __init__(self, llm: LLMClient, prompts: PromptBuilder, max_tokens: int = 64,
                 rules: RuleReader | None = None, llm_threshold: float = 0.5, drop_unsupported: bool = True):
        self.drop_unsupported = drop_unsupported
        self.llm = llm
        self.prompts = prompts
        self.max_tokens = max_tokens
        self.rules = rules or RuleReader()
        self.llm_threshold = llm_threshold
        self.llm_confidence = LLM_CONFIDENCE.get(prompts.style, LLM_CONFIDENCE["instruct"])

    def extract(self, ocr: OcrResult, info: dict[str, str] | None, options: ExtractOptions, *,
                document_type: str | None = None, image=None) -> Extraction:
        """Extract the fields of ``document_type`` and/or ``info``.

        With ``document_type`` None or ``"auto"`` the document is classified
        first (:func:`app.classify.classify`) and each ``info`` entry mapped
        onto a field of the detected type (:func:`app.classify.map_info`): the
        result then has the caller's keys only (``details[key].matched_field``
        says what each was mapped to), or, without ``info``, the detected
        type's fields. ``info`` entries that match no known field are read by
        the generic caption reader (:mod:`app.extraction.readers.caption`).

        Deterministic readers run first (document types only): the CCCD QR
        code (needs ``image``), the ICAO 9303 MRZ, and caption/pattern rules.
        The LLM is asked only for fields no reader found with confidence >=
        ``llm_threshold``; its answers are grounded in the OCR text and
        validated (see :mod:`app.extraction.fields`).

        Args:
            ocr: OCR output of one document.
            info: field key -> description (Vietnamese or English); merged
                with the document type's fields (overriding descriptions).
            options: mode, fan-out and timeout of the LLM stage.
            document_type: a key of :data:`app.extraction.doctypes.DOCUMENT_TYPES`
                (today's behaviour: that type's fields merged with ``info``),
                or None / ``"auto"``: detected.
            image: the decoded ``(H, W, 3)`` BGR image (for the QR reader).

        Returns:
            Extraction with a value (or None) for every field; ``details``
            holds value, normalized, confidence, source, lines and checks;
            fields whose LLM call failed are listed in ``errors``;
            ``document_type`` (given or detected; None for ``other``),
            ``classification`` (``{type, confidence, source}``), and for invoices,
            receipts and orders ``line_items`` (rows, with their lines in ``ocr``) and
            ``checks`` (:func:`app.extraction.checks.apply_checks`, which also sets
            the amount fields' confidences).

        Raises:
            LLMUnavailable, LLMTimeout, LLMRejected: no reader found anything
                and every LLM call failed for that reason.
        """
        start = time.perf_counter()
        timings: dict[str, float] = {}
        doc, specs, classification, matches = self._fields(ocr, info, document_type, image, timings)
        warnings: list[str] = []
        candidates: dict[str, list[Candidate]] = {s.key: [] for s in specs}
        if doc is not None:
            for cand in self._read_deterministic(doc, specs, ocr, image, timings, classification.qr_payload):
                if cand.key in candidates:
                    candidates[cand.key].append(cand)
        free = [s for s in specs if s.free]
        if free:
            from app.extraction.readers.caption import read_captions

            t = time.perf_counter()
            kinds = {m.key: m.kind for m in matches.values()}
            for cand in read_captions(ocr, [(s, kinds.get(s.key) or implied_kind(s.key, s.description_en))
                                            for s in free], reader=self.rules):
                candidates[cand.key].append(cand)
            timings["captions"] = _ms(t)
        results = {s.key: combine(s, candidates[s.key]) for s in specs}

        ask = [s for s in specs if results[s.key].confidence < self.llm_threshold]
        errors: dict[str, FieldError] = {}
        document, truncated = self.prompts.document_text(ocr)
        if truncated:
            warnings.append(
                f"OCR text was {len(ocr.text)} characters; only the first {self.prompts.max_document_chars} "
                "were given to the LLM"
            )
        if not document.strip():
            warnings.append("No text was detected in the image")
        elif ask:
            llm_start = time.perf_counter()
            asked = {s.key: (s.description() if doc is not None and s in doc.fields else s.description_en)
                     for s in ask}
            if options.mode == "schema":
                values, errors = self._extract_schema(document, asked, options)
            else:
                values, errors = self._extract_per_field(document, asked, options)
            if errors and len(errors) == len(ask) and not any(r.value for r in results.values()):
                _raise_common(errors)
            for spec in ask:
                cand = llm_candidate(spec, values.get(spec.key), ocr, self.llm_confidence)
                if cand is not None:
                    candidates[spec.key].append(cand)
                    results[spec.key] = combine(spec, candidates[spec.key])
            timings["llm"] = _ms(llm_start)
        _restore_tone_marks(specs, results, ocr)
        _check_id_number(results)
        dropped = set()
        if self.drop_unsupported:
            for k, r in results.items():
                if _unsupported(r):
                    dropped.add(k)
                    results[k] = dataclasses.replace(r, checks={**r.checks, "dropped": DROPPED_REASON})
        line_items = checks = None
        if doc is not None and doc.name in LINE_ITEM_TYPES:
            # The rows are read, and the amounts checked against them (the checks adjust the
            # amount fields' confidences, and may choose the total), in the same stage as the
            # fields, on the document type's own keys: a caller's ``info`` key is mapped after.
            t = time.perf_counter()
            checks, items = apply_checks(read_line_items(ocr), results, ocr)
            line_items = tuple(items)
            timings["line_items"] = _ms(t)
        if matches:  # the caller's keys, in the caller's order, each saying what it was mapped to
            results = {key: dataclasses.replace(results[m.field or key], matched_field=m.field, mapped=True)
                       for key, m in matches.items()}
            errors = {key: errors[m.field or key] for key, m in matches.items() if (m.field or key) in errors}
            dropped = {key for key, m in matches.items() if (m.field or key) in dropped}
        values = {k: (None if k in dropped else r.value) for k, r in results.items()}
        return Extraction(values, _ms(start), options.mode, errors=errors,
                          warnings=tuple(warnings), details=results,
                          stage_ms={k: round(v, 1) for k, v in timings.items()},
                          document_type=doc.name if doc is not None else None,
                          classification=classification.to_dict(), line_items=line_items, checks=checks)

    def _fields(self, ocr, info, document_type, image, timings):
        """The request's fields: the named type's (today's behaviour), or, for
        ``None`` / ``"auto"``, the detected type's, with ``info`` mapped onto them.

        Returns:
            ``(doc, specs, classification, matches)``: ``matches`` is caller key ->
            :class:`app.classify.mapping.FieldMatch` when ``info`` was mapped
            (the specs then use the known fields' own keys and the caller's key
            for unmatched entries), else empty.
        """
        from app.classify import classify, given, map_info

        if document_type not in (None, AUTO):
            doc, specs = resolve_fields(document_type, info)
            return doc, specs, given(document_type), {}
        t = time.perf_counter()
        classification = classify(ocr, image)
        timings["classify"] = _ms(t)
        detected = classification.type if classification.type in DOCUMENT_TYPES else None
        if not info:
            doc, specs = resolve_fields(detected, None)
            return doc, specs, classification, {}
        t = time.perf_counter()
        matches = map_info(info, detected)
        timings["mapping"] = _ms(t)
        doc = DOCUMENT_TYPES[detected] if detected else None
        specs: list[FieldSpec] = []
        for key, match in matches.items():
            if match.field is not None:
                spec = doc.spec(match.field)
                if spec not in specs:
                    specs.append(spec)
            else:
                specs.append(FieldSpec(key, info[key], info[key], free=True))
        return doc, specs, classification, matches

    def _read_deterministic(self, doc, specs, ocr, image, timings: dict,
                            qr_payload: str | None = None) -> list[Candidate]:
        """Run the document type's readers; their times (ms) go into ``timings``. ``qr_payload``:
        the CCCD QR code's text the classifier already decoded (not decoded again)."""
        out: list[Candidate] = []
        if "qr" in doc.readers and (image is not None or qr_payload is not None):
            from app.extraction.readers.qr import decode_cccd_qr

            t = time.perf_counter()
            out += decode_cccd_qr(image, qr_payload)
            timings["qr"] = _ms(t)
        if "mrz" in doc.readers:
            from app.extraction.readers.mrz import mrz_candidates

            t = time.perf_counter()
            out += mrz_candidates(ocr)
            timings["mrz"] = _ms(t)
        if "keyvalue" in doc.readers:
            from app.extraction.readers.keyvalue import read_key_values

            t = time.perf_counter()
            out += read_key_values(ocr, doc.name)
            timings["keyvalue"] = _ms(t)
        if "rules" in doc.readers:
            t = time.perf_counter()
            rules = self.rules.read(ocr, specs, doc.name)
            if "keyvalue" in doc.readers:
                # The key-value reader's choice stands; the rules fill the fields it left.
                answered = {c.key for c in out if c.value}
                rules = [c for c in rules if c.key not in answered]
            out += rules
            timings["rules"] = _ms(t)
        return out

    # ----------------------------------------------------------------- modes
    def _ask_field(self, document: str, description: str, timeout: float, deadline: float | None) -> str | None:
        if self.prompts.style == "base":
            raw = self.llm.complete(self.prompts.field_prompt(document, description), max_tokens=self.max_tokens,
                                    stop=("\n",), timeout=timeout, deadline=deadline)
        else:
            raw = self.llm.chat(self.prompts.field_messages(document, description), max_tokens=self.max_tokens,
                                timeout=timeout, deadline=deadline)
        return clean_value(raw)

    def _extract_per_field(self, document, info, options):
        values: dict[str, str | None] = {k: None for k in info}
        errors: dict[str, FieldError] = {}
        keys = list(info)

        def run(key):
            try:
                return key, self._ask_field(document, info[key], options.llm_timeout, options.deadline), None
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
                errors[key] = FieldError(error.code, error.message, error.retry_after)
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
                                json_schema=schema, timeout=options.llm_timeout, deadline=options.deadline)
        except LLMError as e:
            return {k: None for k in keys}, {k: FieldError(e.code, e.message, e.retry_after) for k in keys}
        try:
            return parse_json_object(raw, keys), {}
        except ValueError as e:
            # The server did not honour the schema (e.g. output cut at max_tokens).
            # The answer holds document text: its length only, never its content (docs/security.md).
            log.warning("schema mode: unparseable answer of %d characters (%s)", len(raw or ""), e)
            error = FieldError("LLM_BAD_OUTPUT", f"The LLM's answer was not valid JSON: {e}")
            return {k: None for k in keys}, {k: error for k in keys}


#: ``checks["dropped"]`` of an LLM value left out of ``fields`` (:class:`FieldExtractor` ``drop_unsupported``).
DROPPED_REASON = "llm value neither grounded in the OCR text nor valid"


def _unsupported(result) -> bool:
    """An LLM value that no OCR line grounds and whose kind check failed (``valid_<kind>: false``)."""
    return (result.source == "llm" and result.value is not None and not result.grounded
            and any(k.startswith("valid_") and v is False for k, v in result.checks.items()))


def _raise_common(errors: dict[str, FieldError]) -> None:
    """Raise the service error shared by all failed fields, if they share one."""
    codes = {e.code for e in errors.values()}
    message = next(iter(errors.values())).message
    waits = [e.retry_after for e in errors.values() if e.retry_after is not None]
    for cls in (LLMUnavailable, LLMTimeout, LLMRejected):
        if codes == {cls.code}:
            raise cls(message, retry_after=max(waits) if waits else None)


def _restore_tone_marks(specs, results: dict, ocr: OcrResult) -> None:
    """Fields with a lexicon (``FieldSpec.lexicon``) read from OCR text (rule or LLM):
    tone marks of the lexicon's phrases restored (:mod:`app.extraction.gazetteer`):
    place names in addresses and sellers of a Vietnamese page, the set wording of a
    card's identifying marks; what changed is listed in the field's
    ``checks["place_names"]`` (``checks["phrases"]`` for other lexicons). QR values
    are printed by the issuer, not read, and stay; so do values read without a
    single tone mark (:meth:`PlaceNames.restore`)."""
    from app.extraction.gazetteer import identifying_marks, place_names
    from app.classify.language import is_vietnamese

    wanted = [s for s in specs if s.lexicon and results[s.key].value and results[s.key].source in ("rule", "llm")]
    if not wanted:
        return
    vietnamese = None  # the page's language, decided once when a place field needs it
    for spec in wanted:
        if spec.lexicon == "places":
            if vietnamese is None:
                vietnamese = is_vietnamese(ocr)
            if not vietnamese:
                continue
            names, check = place_names(), "place_names"
        else:
            names, check = identifying_marks(), "phrases"
        if names is None:
            continue
        result = results[spec.key]
        restored, changes = names.restore(result.value)
        if not changes:
            continue
        normalized = restored if isinstance(result.normalized, str) else result.normalized
        checks = {**result.checks, check: [{"read": a, "restored": b} for a, b in changes]}
        results[spec.key] = dataclasses.replace(result, value=restored, normalized=normalized, checks=checks)


def _check_id_number(results: dict) -> None:
    """Structure checks of a 12-digit citizen ID against the date of birth and
    sex found on the same card; a failing ID keeps its value at half confidence."""
    result = results.get("id_number")
    if result is None or not result.value:
        return
    from datetime import date

    from app.extraction.fields import FieldResult
    from app.extraction.readers.idnumber import check_id_number

    dob = results.get("date_of_birth")
    sex = results.get("sex")
    try:
        born = date.fromisoformat(dob.normalized) if dob and isinstance(dob.normalized, str) else None
    except ValueError:
        born = None
    check = check_id_number("".join(ch for ch in result.value if ch.isdigit()), born,
                            sex.normalized if sex and sex.value else None)
    checks = {**result.checks, **{k: v for k, v in vars(check).items() if isinstance(v, bool)}}
    conf = result.confidence if check.valid else result.confidence * 0.5
    results["id_number"] = FieldResult(result.value, result.normalized, conf, result.source, result.line_indices,
                                       result.grounded, checks)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
