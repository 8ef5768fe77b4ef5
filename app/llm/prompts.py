"""Prompts for field extraction, in two styles.

* ``base``: plain-text completion prompts for a base (not instruction-tuned)
  model such as the embedded Gemma 3 270M: the document, then
  ``Question: What is the <description>?`` / ``Answer:``, which the model
  continues up to the end of the line. The document comes first and is
  identical for every field, so llama.cpp reuses its evaluated prefix across
  a document's per-field calls (prompt-prefix cache). No worked example is
  included: measured on SROIE receipts, the 270M model copies example values
  into its answers. Measured on 6 SROIE receipts x 4 fields: this form 5/24
  exact; a ``Field:/Value:`` form 2/24; with a worked example the model
  answered the example's values.
* ``instruct``: chat messages for an instruction model (Qwen2.5-7B-Instruct).

Both styles have a per-field form and an all-fields JSON-schema form.
"""

from __future__ import annotations

import json
import re

from app.domain import OcrResult

# Longest value the schema mode lets the model write for one field.
MAX_VALUE_CHARS = 160

# Values a model writes when a field is absent.
_EMPTY_ANSWERS = {"", "none", "null", "n/a", "na", "not found", "unknown", "không có", "không", "-", "--"}

_INSTRUCT_SYSTEM = (
    "You read OCR text of a scanned document (receipt, invoice, order or ID card; Vietnamese or English) "
    "and extract the value of the requested field. Copy the value exactly as printed in the text, without "
    "its caption (for example without 'Tổng tiền:' or 'TOTAL'). If the field is not in the text, answer NONE. "
    "Answer with the value only."
)

_SCHEMA_SYSTEM = (
    "You read OCR text of a scanned document (receipt, invoice, order or ID card; Vietnamese or English) "
    "and extract fields. Copy each value exactly as printed, without its caption. Use null for a field "
    "that is not in the text. Answer with one JSON object."
)


class PromptBuilder:
    """Builds extraction prompts for one prompt style.

    Args:
        style: ``base`` or ``instruct``.
        max_document_chars: OCR text longer than this is cut (the model's
            context is finite); :meth:`document_text` reports when it cut.
    """

    def __init__(self, style: str = "base", max_document_chars: int = 12000):
        if style not in ("base", "instruct"):
            raise ValueError(f"unknown prompt style {style!r}")
        self.style = style
        self.max_document_chars = max_document_chars

    def document_text(self, ocr: OcrResult) -> tuple[str, bool]:
        """OCR lines joined in reading order, and whether it was truncated."""
        text = ocr.text
        if len(text) <= self.max_document_chars:
            return text, False
        return text[: self.max_document_chars], True

    # ------------------------------------------------------------ per field
    def field_prompt(self, document: str, description: str) -> str:
        """Completion prompt (base style) asking for one field."""
        return f"Document text:\n{document}\n\nQuestion: What is the {_one_line(description)}?\nAnswer:"

    def field_messages(self, document: str, description: str) -> list[dict]:
        """Chat messages (instruct style) asking for one field."""
        return [
            {"role": "system", "content": _INSTRUCT_SYSTEM},
            {"role": "user", "content": f"OCR text:\n{document}\n\nField: {_one_line(description)}"},
        ]

    # ------------------------------------------------------------ all fields
    @staticmethod
    def schema(info: dict[str, str]) -> dict:
        """JSON Schema for all fields: every key required, a string of at most
        :data:`MAX_VALUE_CHARS` characters or null.

        ``anyOf`` rather than ``"type": ["string", "null"]`` because
        llama-cpp-python's schema-to-grammar converter honours ``maxLength`` only
        on a plain string type; without the bound, the 270M model can fill the
        token budget inside one string and the JSON never closes (seen here).
        """
        return {
            "type": "object",
            "properties": {
                key: {"anyOf": [{"type": "string", "maxLength": MAX_VALUE_CHARS}, {"type": "null"}],
                      "description": _one_line(desc)}
                for key, desc in info.items()
            },
            "required": list(info),
            "additionalProperties": False,
        }

    def schema_messages(self, document: str, info: dict[str, str]) -> list[dict]:
        """Chat messages asking for all fields as one JSON object."""
        fields = "\n".join(f'- "{key}": {_one_line(desc)}' for key, desc in info.items())
        if self.style == "base":
            # One user turn that reads like a document followed by a form; the
            # server's grammar (from the schema) does the rest.
            content = f"Document text:\n{document}\n\nFields to copy from the document text:\n{fields}\nJSON:"
            return [{"role": "user", "content": content}]
        return [
            {"role": "system", "content": _SCHEMA_SYSTEM},
            {"role": "user", "content": f"OCR text:\n{document}\n\nFields:\n{fields}"},
        ]


def clean_value(raw: str | None) -> str | None:
    """Turn a model's answer into a field value.

    Keeps the first non-empty line, strips surrounding quotes, backticks and
    whitespace; maps answers meaning "absent" (NONE, null, N/A, ...) to None.
    """
    if raw is None:
        return None
    text = str(raw).strip()
    for line in text.splitlines():
        if line.strip():
            text = line.strip()
            break
    text = text.strip("`\"'“”‘’ ").strip()
    if text.lower().rstrip(".") in _EMPTY_ANSWERS:
        return None
    return text[:1000]


def parse_json_object(raw: str, keys: list[str]) -> dict[str, str | None]:
    """Parse a model's JSON answer into ``{key: value|None}`` for ``keys``.

    Tolerates text around the object (takes the outermost ``{...}``); keys
    the model did not produce are None; non-string values are converted
    with ``str``.

    Raises:
        ValueError: no JSON object could be parsed.
    """
    match = re.search(r"\{.*\}", raw or "", re.S)
    if not match:
        raise ValueError("no JSON object in the model's answer")
    # strict=False: grammar-constrained output may hold raw control characters in strings.
    data = json.loads(match.group(0), strict=False)
    if not isinstance(data, dict):
        raise ValueError("the model's JSON answer is not an object")
    out: dict[str, str | None] = {}
    for key in keys:
        value = data.get(key)
        out[key] = clean_value(value if isinstance(value, str) or value is None else json.dumps(value)
                               if isinstance(value, (dict, list)) else str(value))
    return out


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
