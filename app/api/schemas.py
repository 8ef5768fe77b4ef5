"""Request validation for the HTTP API (pydantic models).

Validation errors become :class:`app.errors.InvalidConfig` /
:class:`app.errors.InvalidParameter` with a message that names the key.
Whatever shape the caller sends — any nesting depth, any key or value size,
``NaN``/``Infinity``, duplicate keys, integers of any length — the answer is
a 4xx, and what the message quotes of the input is clipped
(:func:`clip`, at most :data:`MAX_PROBLEMS` problems listed) so that an
oversized input is never echoed back whole.
"""

from __future__ import annotations

import json
import re
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.errors import InvalidConfig, InvalidParameter, MissingConfig, PayloadTooLarge
from app.extraction.extractor import ExtractOptions

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

# Largest accepted config, in characters: 50 fields x (100-character key + 1000-character
# description) is 55,000 characters, so 256 Ki leaves room for whitespace and escapes.
MAX_CONFIG_CHARS = 256 * 1024
MAX_PROBLEMS = 10  # validation problems listed in a message; the rest are counted
MAX_INT_DIGITS = 30  # no config value is an integer of more digits
CLIP_CHARS = 60  # characters of a caller's key or value quoted in a message


def clip(value: object, limit: int = CLIP_CHARS) -> str:
    """``repr``-like quote of a caller's value, cut to about ``limit`` characters.

    Args:
        value: a string (quoted with ``repr``) or anything (``str``).
        limit: most characters kept of the quoted text.

    Returns:
        The quote, ending in ``…(N chars)`` when it was cut.
    """
    text = repr(value) if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text)} chars)"


class ExtractConfig(BaseModel):
    """The ``config`` form field of ``POST /extract`` (a JSON object).

    Attributes:
        info: field key -> description of the field (Vietnamese or English).
        document_type: a predefined field set (``cccd_front``, ``cccd_back``,
            ``invoice``, ``receipt``, ``purchase_order``, ``sales_order``);
            merged with ``info`` when both are given.
        mode: ``per_field`` (one LLM call per field) or ``schema`` (one
            JSON-schema-constrained call); the server default when omitted.
        parallel: run per-field calls concurrently.
        batch_size: most concurrent LLM calls per document (1..16).
        llm_timeout: seconds per LLM call (0 < t <= 600).
        display_text_box: include OCR lines with boxes in the result.
        einvoice_xml: read e-invoice XML (an XML upload; the Factur-X / ZUGFeRD /
            XRechnung XML embedded in a PDF); false: the PDF's pages only (an
            evaluation "with the embedded XML removed"). Omitted: the server's
            ``EINVOICE_XML`` setting.
    """

    model_config = ConfigDict(extra="forbid", strict=False)

    info: dict[str, str] | None = Field(default=None, min_length=1, max_length=50)
    document_type: Literal["cccd_front", "cccd_back", "invoice", "receipt", "purchase_order", "sales_order",
                           "auto"] | None = None
    mode: Literal["per_field", "schema"] | None = None
    parallel: bool = True
    batch_size: int = Field(default=3, ge=1, le=16)
    llm_timeout: float = Field(default=30.0, gt=0, le=600)
    display_text_box: bool = False
    einvoice_xml: bool | None = None

    def options(self, settings, deadline: float | None = None) -> ExtractOptions:
        """The :class:`~app.extraction.extractor.ExtractOptions` of this request: the one
        place every door (HTTP, gRPC, legacy gRPC, jobs, CLI) makes them.

        Args:
            settings: :class:`app.config.Settings` (``DEFAULT_EXTRACT_MODE`` when ``mode``
                is omitted).
            deadline: ``time.monotonic()`` instant by which the request must be answered,
                or None. Each LLM call's timeout is clipped to the time left before it
                (at least 0.1 s), so no call is started that the deadline would cut off
                later than its own timeout.
        """
        llm_timeout = self.llm_timeout
        if deadline is not None:
            llm_timeout = max(0.1, min(llm_timeout, deadline - time.monotonic()))
        return ExtractOptions(mode=self.mode or settings.default_extract_mode, parallel=self.parallel,
                              batch_size=self.batch_size, llm_timeout=llm_timeout, deadline=deadline,
                              einvoice_xml=self.einvoice_xml)

    @model_validator(mode="after")
    def _info_or_type(self) -> "ExtractConfig":
        if self.info is None and self.document_type is None:
            raise ValueError("give config.info (field key -> description) and/or config.document_type")
        return self

    @field_validator("info")
    @classmethod
    def _check_info(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for key, desc in (value or {}).items():
            if not key.strip() or len(key) > 100:
                raise ValueError(f"field key {clip(key)} must be 1-100 characters")
            if not desc.strip():
                raise ValueError(f"description of field {clip(key)} is empty")
            if len(desc) > 1000:
                raise ValueError(f"description of field {clip(key)} is over 1000 characters")
        return value


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        seen, dup = set(), None
        for k in keys:
            if k in seen:
                dup = k
                break
            seen.add(k)
        raise _ConfigShape(f"config has the key {clip(dup)} twice; give each key once")
    return dict(pairs)


def _no_constant(name: str):
    raise _ConfigShape(f"config holds {name}, which is not a JSON number; send a finite number")


def _bounded_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _ConfigShape(f"config holds an integer of {digits} digits; no config value has more than "
                           f"{MAX_INT_DIGITS}")
    return int(text)


class _ConfigShape(ValueError):
    """Raised from inside ``json.loads`` hooks: the message is safe to show."""


def _decode_json(raw: str):
    """``json.loads`` that refuses duplicate keys, NaN/Infinity and huge integers.

    Raises:
        InvalidConfig: not JSON, or one of the above; nested too deeply.
    """
    try:
        return json.loads(raw, object_pairs_hook=_no_duplicates, parse_constant=_no_constant,
                          parse_int=_bounded_int)
    except _ConfigShape as e:
        raise InvalidConfig(str(e)) from None
    except json.JSONDecodeError as e:
        raise InvalidConfig(f"config is not valid JSON: {e.msg} at position {e.pos}") from None
    except RecursionError:
        raise InvalidConfig("config is nested too deeply; it is a flat JSON object") from None
    except ValueError as e:  # e.g. a float literal the decoder cannot convert
        raise InvalidConfig(f"config is not valid JSON ({clip(str(e))})") from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_surrogates(data: dict) -> None:
    """Refuse a config string holding a lone UTF-16 surrogate.

    JSON's ``\\uXXXX`` escapes can spell half of a surrogate pair, which is not a
    character (RFC 8259 §8.2: "unpredictable"; UTF-8 cannot encode it). ``json``
    joins escaped pairs into their code point, so what remains is a broken string
    (an emoji cut in half); it is refused rather than altered, so nothing the
    caller sent changes silently.

    Raises:
        InvalidConfig: naming the first key whose key or value holds one.
    """
    stack: list[tuple[str, object]] = [("", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise InvalidConfig(f"config{where} holds a lone UTF-16 surrogate (half of an escaped "
                                    "character such as an emoji); send valid Unicode")
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{where}.{key if len(str(key)) <= 40 else clip(key, 40)}"
                if isinstance(key, str) and _SURROGATE.search(key):
                    raise InvalidConfig(f"a key of config{where} holds a lone UTF-16 surrogate; send valid Unicode")
                stack.append((name, item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))


def parse_extract_config(raw: str | None) -> ExtractConfig:
    """Parse and validate the ``config`` form field.

    Raises:
        MissingConfig: absent or blank.
        PayloadTooLarge: over :data:`MAX_CONFIG_CHARS` characters (413).
        InvalidConfig: not JSON, not an object, nested too deeply, a duplicate
            key, ``NaN``/``Infinity``, an integer of more than
            :data:`MAX_INT_DIGITS` digits, or a key with a bad value (the
            message names the key and the reason; at most
            :data:`MAX_PROBLEMS` problems are listed).
    """
    if raw is None or not raw.strip():
        raise MissingConfig()
    if len(raw) > MAX_CONFIG_CHARS:
        raise PayloadTooLarge(f"config is {len(raw):,} characters; the limit is {MAX_CONFIG_CHARS:,}")
    data = _decode_json(raw)
    if not isinstance(data, dict):
        raise InvalidConfig("config must be a JSON object")
    return validate_extract_config(data)


def validate_extract_config(data: dict) -> ExtractConfig:
    """Validate a config that arrived as values, not JSON text (the gRPC doors build it from
    protobuf fields, the UI from a form, a job reads back the one its door stored); what
    :func:`parse_extract_config` does after decoding the JSON.

    Raises:
        InvalidConfig: as :func:`parse_extract_config` (a key with a bad value, an unknown
            key, neither ``info`` nor ``document_type``, a lone UTF-16 surrogate).
    """
    _refuse_surrogates(data)
    if "info" not in data and "document_type" not in data:
        raise InvalidConfig("config.info (field key -> description) or config.document_type is required")
    try:
        return ExtractConfig.model_validate(data)
    except RecursionError:
        raise InvalidConfig("config is nested too deeply; it is a flat JSON object") from None
    except ValidationError as e:
        errors = e.errors(include_input=False, include_url=False)
        problems = []
        for err in errors[:MAX_PROBLEMS]:
            loc = ".".join(clip(p, 40) if isinstance(p, str) and len(p) > 40 else str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            msg = msg if len(msg) <= 200 else msg[:200] + "…"
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append(f"config.{loc}: {msg}" if loc else f"config: {msg}")
        if len(errors) > MAX_PROBLEMS:
            problems.append(f"… and {len(errors) - MAX_PROBLEMS} more")
        raise InvalidConfig("; ".join(problems), details={"errors": problems}) from None


def single_value(form, name: str, error: type = InvalidParameter) -> str | None:
    """The one value of form field ``name`` (None when absent).

    Raises:
        InvalidConfig / InvalidParameter (``error``): the field was sent more
            than once (which one is meant is ambiguous).
    """
    values = form.getlist(name)
    if len(values) > 1:
        raise error(f"form field {name!r} was sent {len(values)} times; send it once")
    return values[0] if values else None


def parse_bool_param(name: str, raw: str | None, default: bool) -> bool:
    """Parse a true/false form field (``true/false/1/0/yes/no/on/off``).

    Raises:
        InvalidParameter: any other value.
    """
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidParameter(f"{name} must be true or false, got {clip(raw)}")
