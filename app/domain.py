"""Typed results passed between the stages.

Coordinates are pixels in the decoded image (after EXIF orientation), origin
top-left, x to the right, y down. Times are milliseconds.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from decimal import Decimal

Point = tuple[float, float]
Box = tuple[Point, Point, Point, Point]  # (4, 2): top-left, top-right, bottom-right, bottom-left

#: Code points no document text should carry: UTF-16 surrogates (not encodable in
#: UTF-8, so a JSON encoder, PostgreSQL or protobuf refuses the whole string) and
#: C0/C1 control characters other than tab and line feed (PostgreSQL's ``jsonb``
#: refuses NUL; the rest are invisible).
_INVALID_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
REPLACEMENT_CHARACTER = "\ufffd"


def valid_text(text: str) -> str:
    """Make ``text`` valid Unicode that any encoder accepts.

    A UTF-16 surrogate pair (high ``U+D800..DBFF`` then low ``U+DC00..DFFF``, as a
    PDF text layer or a UTF-16 source hands out astral-plane characters such as
    emoji) is joined into its code point (Unicode 15, §3.9 D91); a lone surrogate
    becomes U+FFFD REPLACEMENT CHARACTER; a control character other than tab and
    line feed (C0, DEL, C1) becomes a space. Text without any of these is returned
    as is (one regex scan).

    Args:
        text: any Python string.

    Returns:
        A string that encodes to UTF-8 (``text.encode("utf-8")`` cannot raise).
    """
    if _INVALID_TEXT.search(text) is None:
        return text
    # UTF-16 with surrogatepass re-reads pairs as one code point; lone halves fail to
    # decode and are replaced.
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _INVALID_TEXT.sub(" ", joined)


@dataclass(frozen=True)
class TextLine:
    """One recognised text line.

    Attributes:
        text: recognised text (Unicode NFC), made valid by :func:`valid_text`
            when the line is built.
        confidence: recognition confidence in [0, 1].
        box: quadrilateral ``(4, 2)`` in pixels, clockwise from top-left.
        page: 1-based page of a multi-page document the line is on (None: not
            assigned; the engines leave it, the pipeline sets it).
    """

    text: str
    confidence: float
    box: Box
    page: int | None = None

    def __post_init__(self):
        # Every engine, the PDF text layer and stored OCR build lines here: the one
        # place their text is made valid (:func:`valid_text`).
        clean = valid_text(self.text)
        if clean is not self.text:
            object.__setattr__(self, "text", clean)

    def to_dict(self, with_box: bool = True) -> dict:
        out = {"text": self.text, "confidence": round(float(self.confidence), 4)}
        if with_box:
            out["box"] = [[round(float(x), 1), round(float(y), 1)] for x, y in self.box]
        if self.page is not None:
            out["page"] = self.page
        return out


@dataclass(frozen=True)
class OcrResult:
    """Output of an OCR engine for one image.

    Attributes:
        lines: text lines in reading order (top-to-bottom, left-to-right).
        width, height: image size in pixels.
        detection_ms: text detection time.
        recognition_ms: text recognition time (includes orientation classification).
        engine: name of the engine that produced it.
        language: ``vi`` or ``other`` (``app.classify.language.page_language`` of all the
            lines), set once by the pipeline for a document's stacked lines so no stage
            guesses it again; None: not determined (each stage then decides from the lines).
        orientation: how the page lies in the image, decided once by the engine that read
            it (``app.ocr.geometry.page_turn``: ``upright``, ``180``, ``left`` = top at the
            image's left, ``right``; a text layer is ``upright``); the readers turn the
            geometry with it (``app.extraction.layout.upright``). None: not decided (lines
            from elsewhere); the readers then guess it from the line geometry.
        currency: ISO 4217 code assumed for amounts printed without one, decided once by
            the pipeline (``app.extraction.currency.document_currency``; ``""``: the
            document names none); None: not decided (each reader then decides).
    """

    lines: tuple[TextLine, ...]
    width: int
    height: int
    detection_ms: float
    recognition_ms: float
    engine: str = ""
    language: str | None = None
    orientation: str | None = None
    currency: str | None = None

    @property
    def text(self) -> str:
        """All line texts joined by newlines, in reading order."""
        return "\n".join(line.text for line in self.lines)

    @property
    def total_ms(self) -> float:
        return self.detection_ms + self.recognition_ms


@dataclass(frozen=True)
class FieldError:
    """Why one field has no value (the LLM call for it failed).

    ``retry_after``: seconds the LLM stage expects to stay unavailable (an open
    circuit breaker), passed on as ``Retry-After`` when every field failed; not
    part of :meth:`to_dict`.
    """

    code: str
    message: str
    retry_after: int | None = None

    def to_dict(self) -> dict:
        return {"error_code": self.code, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict) -> "FieldError":
        """The inverse of :meth:`to_dict`."""
        return cls(data["error_code"], data["message"])


@dataclass(frozen=True)
class Extraction:
    """Fields extracted from one document.

    Attributes:
        fields: field key -> value as read, or None when not found.
        extraction_ms: wall time of the LLM stage.
        mode: ``per_field`` or ``schema``.
        errors: field key -> error for fields whose LLM call failed.
        warnings: things the caller should know (e.g. OCR text truncated).
        details: field key -> ``app.extraction.fields.FieldResult`` (value,
            normalized, confidence, source, lines, grounded, checks).
        stage_ms: time of each reader that ran (``qr``, ``mrz``, ``rules``,
            ``captions``), of classification and ``info`` mapping
            (``classify``, ``mapping``) and of the LLM stage (``llm``), in milliseconds.
        document_type: the type whose fields were read (named by the caller or
            detected); None when none applies.
        classification: ``{type, confidence, source}`` (source ``given`` when
            the caller named the type).
        line_items: the :class:`LineItem` rows of an invoice, receipt or order
            (``line_indices`` into the OCR lines read); None for other types.
        checks: the arithmetic checks' report with ``line_items``; None without.
    """

    fields: dict[str, str | None]
    extraction_ms: float
    mode: str
    errors: dict[str, FieldError] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    details: dict = field(default_factory=dict)
    stage_ms: dict = field(default_factory=dict)
    document_type: str | None = None
    classification: dict | None = None
    line_items: tuple | None = None
    checks: dict | None = None


def box_top(line: TextLine) -> float:
    """Smallest y of a line's box, pixels."""
    return min(y for _, y in line.box)


def box_bottom(line: TextLine) -> float:
    """Largest y of a line's box, pixels."""
    return max(y for _, y in line.box)


def box_left(line: TextLine) -> float:
    """Smallest x of a line's box, pixels."""
    return min(x for x, _ in line.box)


def box_right(line: TextLine) -> float:
    """Largest x of a line's box, pixels."""
    return max(x for x, _ in line.box)


def same_row(a: TextLine, b: TextLine) -> bool:
    """Whether two lines' boxes share a visual row: their vertical extents overlap by
    more than half the smaller height (axis-aligned; the readers' one same-row test)."""
    down = min(box_bottom(a), box_bottom(b)) - max(box_top(a), box_top(b))
    return down > 0.5 * min(box_bottom(a) - box_top(a), box_bottom(b) - box_top(b))


# --------------------------------------------------------------------------- fields
SOURCES = ("qr", "mrz", "rule", "llm")


@dataclass(frozen=True)
class Candidate:
    """A value for one field proposed by one reader (QR, MRZ, rule or LLM).

    Attributes:
        key: field key (e.g. ``id_number``, ``date_of_birth``, ``total``).
        value: the value as printed / encoded (None: the reader found nothing).
        normalized: canonical form: ISO 8601 ``YYYY-MM-DD`` for dates,
            ``{"amount": "60.30", "currency": "MYR"}`` for amounts, NFC text
            otherwise (see :mod:`app.extraction.normalize`).
        confidence: the reader's confidence in [0, 1].
        source: one of :data:`SOURCES`.
        line_indices: indices into ``OcrResult.lines`` the value was read from
            (empty for QR, whose payload is not OCR text).
        checks: named validations and their outcome (e.g. ``{"check_digit": True}``).
    """

    key: str
    value: str | None
    normalized: object
    confidence: float
    source: str
    line_indices: tuple[int, ...] = ()
    checks: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FieldResult:
    """One field's final reading: the response entry of one field.

    Attributes:
        value: as printed (or as encoded in the QR / MRZ / e-invoice XML); None when not found.
        normalized: ISO date, ``{"amount", "currency"}``, NFC text, ...
        confidence: 0..1.
        source: ``qr``, ``mrz``, ``rule``, ``llm`` or ``xml`` (None when not found).
        line_indices: lines of the stacked ``OcrResult`` the value was read from.
        grounded: the value appears in the OCR text (always true for QR/MRZ/rule).
        checks: validations run and their outcome.
        matched_field: the known field an ``info`` entry was mapped onto
            (``app.classify.mapping.map_info``; type detected); None: no
            known field matched.
        mapped: the entry went through the mapping (the response then shows
            ``matched_field``, null included).
        page: 1-based page of the value's lines (None: not placed, or not from a page).
        box: axis-aligned ``[[x, y] x 4]`` around the value's lines in that page's
            pixels (None: no lines), set by the pipeline (:meth:`placed`).
    """

    value: str | None
    normalized: object
    confidence: float
    source: str | None
    line_indices: tuple[int, ...] = ()
    grounded: bool = False
    checks: dict = field(default_factory=dict)
    matched_field: str | None = None
    mapped: bool = False
    page: int | None = None
    box: list | None = None

    def placed(self, page: int | None, box: list | None) -> "FieldResult":
        """This result with its page and box (page pixels) set."""
        return dataclasses.replace(self, page=page, box=box)

    def to_dict(self) -> dict:
        """Response form: ``{value, normalized, confidence (3 places), source, grounded, box,
        checks?, matched_field? (mapped entries), page}``."""
        out = {"value": self.value, "normalized": self.normalized, "confidence": round(self.confidence, 3),
               "source": self.source, "grounded": self.grounded, "box": self.box}
        if self.checks:
            out["checks"] = self.checks
        if self.mapped:
            out["matched_field"] = self.matched_field
        out["page"] = self.page
        return out


def amount_string(value: Decimal) -> str:
    """Canonical decimal string: no separators, no currency; whole amounts
    without decimals, others with at least two (``60.3`` -> ``"60.30"``,
    ``408000.000`` -> ``"408000"``, ``6500.00`` -> ``"6500"``)."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


@dataclass(frozen=True)
class LineItem:
    """One item row.

    Attributes:
        description: the item's text (lines of a wrapped cell joined by a space).
        quantity, unit_price, amount: numbers as printed, parsed (None: absent).
        unit: unit of measure as printed.
        line_indices: OCR lines of the row (indices into the stacked ``OcrResult``).
        confidence: mean OCR confidence of those lines, adjusted by the row's
            arithmetic check (``app.extraction.checks``); 1.0 for an e-invoice XML row.
        checks: the row's checks (``{"quantity_x_unit_price": bool}``).
        page, box: where the row is (page pixels, as :attr:`FieldResult.box`); set by
            the pipeline (:meth:`placed`); None for an XML row.
        tax_rate: the VAT rate an e-invoice XML row states (percent, as a string).
    """

    description: str | None
    quantity: Decimal | None
    unit: str | None
    unit_price: Decimal | None
    amount: Decimal | None
    line_indices: tuple[int, ...]
    confidence: float
    checks: dict | None = None
    page: int | None = None
    box: list | None = None
    tax_rate: str | None = None

    def placed(self, page: int | None, box: list | None) -> "LineItem":
        """This row with its page and box (page pixels) set."""
        return dataclasses.replace(self, page=page, box=box)

    def to_dict(self) -> dict:
        """Response form: numbers as canonical decimal strings (``"1250.50"``, :func:`amount_string`),
        then ``confidence``, ``checks`` (when any), ``page``, ``box`` and ``tax_rate`` (when stated)."""
        out = {"description": self.description,
               "quantity": _num(self.quantity), "unit": self.unit, "unit_price": _num(self.unit_price),
               "amount": _num(self.amount), "confidence": round(self.confidence, 3)}
        if self.checks:
            out["checks"] = self.checks
        out["page"], out["box"] = self.page, self.box
        if self.tax_rate is not None:
            out["tax_rate"] = self.tax_rate
        return out


def _num(value: Decimal | None) -> str | None:
    return None if value is None else amount_string(value)


# --------------------------------------------------------------------------- documents
@dataclass(frozen=True)
class PageText:
    """One page's text, built once by the OCR engine or the PDF text layer.

    Attributes:
        number: 1-based page number.
        width, height: page size in pixels (PDF pages at ``PDF_DPI``).
        source: ``pdf_text`` (text layer) or ``ocr``.
        ocr: the page's lines (``page`` set; boxes in the page's pixels) and the
            OCR stage times (0 for a text-layer page).
        text_layer_ms: time reading the text layer, milliseconds.
    """

    number: int
    width: int
    height: int
    source: str
    ocr: OcrResult
    text_layer_ms: float = 0.0

    def timing(self) -> dict:
        """``processing_time`` of the page, milliseconds."""
        return {"detection_ms": round(self.ocr.detection_ms, 1), "recognition_ms": round(self.ocr.recognition_ms, 1),
                "text_layer_ms": round(self.text_layer_ms, 1)}

    def to_dict(self, with_lines: bool, with_box: bool) -> dict:
        """Response form: ``{page, width, height, source, ocr_data? (with_lines), processing_time}``."""
        out = {"page": self.number, "width": self.width, "height": self.height, "source": self.source}
        if with_lines:
            out["ocr_data"] = [line.to_dict(with_box) for line in self.ocr.lines]
        out["processing_time"] = self.timing()
        return out


@dataclass(frozen=True)
class DocumentResult:
    """What the pipeline read from one document: the one result every door serialises.

    HTTP and the jobs store it with :meth:`to_dict` (the ``/extract`` and ``/ocr`` JSON);
    gRPC builds its messages from the attributes (``app.grpc.servicers``); metrics read it
    before it is serialised.

    Attributes:
        filename: the client's file name.
        kind: ``ocr`` (text only, the ``/ocr`` door) or ``extract`` (fields).
        pages: the pages in order (empty for an e-invoice XML upload).
        timings: ``processing_time``: stage -> milliseconds (0.1 ms), keys ending ``_ms``.
        document_type: the type whose fields were read (given or detected); None when none applies.
        classification: ``{type, confidence, source}``.
        values: field key -> value as read (``extracted_fields``).
        fields: field key -> :class:`FieldResult`, placed (page and box set).
        line_items: the item rows, placed; None: the type has no line items.
        checks: the arithmetic checks' report (``app.extraction.checks``); None with ``line_items``.
        einvoice: what an e-invoice XML said about itself (``{format, profile, attachment, ...}``).
        field_errors: field key -> why the LLM gave it no value.
        warnings: things the caller should know.
    """

    filename: str
    kind: str
    pages: tuple[PageText, ...]
    timings: dict
    document_type: str | None = None
    classification: dict | None = None
    values: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)
    line_items: tuple[LineItem, ...] | None = None
    checks: dict | None = None
    einvoice: dict | None = None
    field_errors: dict = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    success = True

    @property
    def lines(self) -> list[TextLine]:
        """Every page's lines in page coordinates (each with its ``page``)."""
        return [ln for p in self.pages for ln in p.ocr.lines]

    def to_dict(self, with_box: bool = False) -> dict:
        """The HTTP JSON of one file (the ``/ocr`` and ``/extract`` wire format).

        Args:
            with_box: ``/extract``: include every line with its box (``ocr_data``, top level
                and per page); ``/ocr``: lines are always included and this decides their boxes.

        Returns:
            ``ocr``: ``{filename, success, page_count, ocr_data, pages, processing_time}``.
            ``extract``: ``{filename, success, page_count, document_type, classification,
            extracted_fields, fields, line_items?, checks?, einvoice?, pages, processing_time,
            ocr_data?, field_errors?, warnings?}``.
        """
        out = {"filename": self.filename, "success": True, "page_count": len(self.pages)}
        if self.kind == "ocr":
            out["ocr_data"] = [line.to_dict(with_box) for line in self.lines]
            out["pages"] = [p.to_dict(True, with_box) for p in self.pages]
            out["processing_time"] = dict(self.timings)
            return out
        out.update({"document_type": self.document_type, "classification": self.classification,
                    "extracted_fields": dict(self.values),
                    "fields": {key: r.to_dict() for key, r in self.fields.items()}})
        if self.line_items is not None:
            out["line_items"] = [item.to_dict() for item in self.line_items]
            out["checks"] = self.checks
        if self.einvoice is not None:
            out["einvoice"] = self.einvoice
        out["pages"] = [p.to_dict(with_box, with_box) for p in self.pages]
        out["processing_time"] = dict(self.timings)
        if with_box:
            out["ocr_data"] = [line.to_dict(True) for line in self.lines]
        if self.field_errors:
            out["field_errors"] = {k: e.to_dict() for k, e in self.field_errors.items()}
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "DocumentResult":
        """A result from its JSON (:meth:`to_dict`), as the jobs store it.

        ``to_dict(from_dict(d), with_box)`` gives ``d`` back for the ``with_box`` it was
        written with. What the JSON does not carry stays empty: the fields' and rows'
        ``line_indices``, and the pages' lines when they were written without them.

        Raises:
            KeyError, TypeError, ValueError: ``data`` is not a result's JSON.
        """
        kind = "extract" if "fields" in data else "ocr"
        pages = tuple(PageText(p["page"], p["width"], p["height"], p["source"],
                               OcrResult(tuple(_line_from_dict(ln) for ln in p.get("ocr_data", ())),
                                         p["width"], p["height"], p["processing_time"]["detection_ms"],
                                         p["processing_time"]["recognition_ms"]),
                               p["processing_time"]["text_layer_ms"])
                      for p in data.get("pages", ()))
        if kind == "ocr":
            return cls(data["filename"], kind, pages, dict(data["processing_time"]))
        items = data.get("line_items")
        return cls(
            data["filename"], kind, pages, dict(data["processing_time"]),
            document_type=data.get("document_type"), classification=data.get("classification"),
            values=dict(data.get("extracted_fields") or {}),
            fields={k: FieldResult(f["value"], f["normalized"], f["confidence"], f["source"], (), f["grounded"],
                                   f.get("checks") or {}, f.get("matched_field"), "matched_field" in f,
                                   f.get("page"), f.get("box"))
                    for k, f in data["fields"].items()},
            line_items=None if items is None else tuple(_item_from_dict(i) for i in items),
            checks=data.get("checks"), einvoice=data.get("einvoice"),
            field_errors={k: FieldError.from_dict(e) for k, e in (data.get("field_errors") or {}).items()},
            warnings=tuple(data.get("warnings") or ()))


def _line_from_dict(data: dict) -> TextLine:
    box = data.get("box") or ((0.0, 0.0),) * 4
    return TextLine(data["text"], data["confidence"], tuple(tuple(p) for p in box), data.get("page"))


def _item_from_dict(data: dict) -> LineItem:
    def num(key: str) -> Decimal | None:
        return None if data.get(key) is None else Decimal(data[key])

    return LineItem(data.get("description"), num("quantity"), data.get("unit"), num("unit_price"), num("amount"),
                    (), data["confidence"], data.get("checks"), data.get("page"), data.get("box"),
                    data.get("tax_rate"))


@dataclass(frozen=True)
class FileFailure:
    """A file of a batch that could not be read (its own fault or the OCR engine's).

    Attributes:
        filename: the client's file name.
        error: the ``app.errors.ServiceError`` raised for it.
    """

    filename: str
    error: object

    success = False

    def to_dict(self, with_box: bool = False) -> dict:
        """``{filename, success: false, error_code, message, ...}`` (``with_box`` is ignored)."""
        return {"filename": self.filename, "success": False, **self.error.to_dict()}
