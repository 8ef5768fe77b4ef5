"""Request validation for the HTTP API (pydantic models).

Validation errors become :class:`app.errors.InvalidConfig` /
:class:`app.errors.InvalidParameter` with a message that names the key.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.errors import InvalidConfig, InvalidParameter, MissingConfig

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


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
                raise ValueError(f"field key {key!r} must be 1-100 characters")
            if not desc.strip():
                raise ValueError(f"description of field {key!r} is empty")
            if len(desc) > 1000:
                raise ValueError(f"description of field {key!r} is over 1000 characters")
        return value


def parse_extract_config(raw: str | None) -> ExtractConfig:
    """Parse and validate the ``config`` form field.

    Raises:
        MissingConfig: absent or blank.
        InvalidConfig: not JSON, not an object, or a key with a bad value
            (the message names the key and the reason).
    """
    if raw is None or not raw.strip():
        raise MissingConfig()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise InvalidConfig(f"config is not valid JSON: {e.msg} at position {e.pos}") from None
    if not isinstance(data, dict):
        raise InvalidConfig("config must be a JSON object")
    if "info" not in data and "document_type" not in data:
        raise InvalidConfig("config.info (field key -> description) or config.document_type is required")
    try:
        return ExtractConfig.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            problems.append(f"config.{loc}: {msg}" if loc else f"config: {msg}")
        raise InvalidConfig("; ".join(problems), details={"errors": problems}) from None


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
    raise InvalidParameter(f"{name} must be true or false, got {raw!r}")
