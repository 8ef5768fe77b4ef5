"""What a legacy ``ExtractOCR`` prompt asks for.

The legacy contract's clients send a free-text prompt, in English or
Vietnamese: "Extract all fields into a structured JSON.", "Extract total and
date", "Lấy số hóa đơn, ngày và tổng tiền". :func:`parse_prompt` reads it as
either *all fields* of the detected document type or a list of field phrases
("total", "date", "so hoa don"), which the legacy servicer maps onto the
document type's field keys with the same mapping that maps HTTP ``info``
entries (:mod:`app.classify.mapping`).

The parse, on folded text (lower case, no diacritics,
:func:`app.extraction.normalize.fold`):

1. output-format wording is dropped ("into a structured JSON", "as JSON",
   "dạng JSON"), and so are request verbs ("extract", "get", "trích xuất",
   "lấy", ...) and generic nouns ("fields", "information", "thông tin", ...);
2. a clause naming the document ("from this invoice", "trong hóa đơn") is
   dropped, and compound captions that contain a splitting word are kept
   whole ("họ và tên");
3. "all"/"every"/"everything"/"tất cả"/"toàn bộ" anywhere means all fields;
4. the rest is split at commas, semicolons, "and"/"và"/"&"/"+" and line
   breaks into phrases; a prompt that names nothing (e.g. "Extract to JSON")
   asks for all fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.extraction.normalize import fold

#: Longest prompt read (characters); the rest is ignored.
MAX_PROMPT_CHARS = 2000
#: Most field phrases taken from one prompt (the HTTP API's limit on ``info`` entries).
MAX_PHRASES = 50

_FORMAT = re.compile(
    r"\b(?:(?:in|into|as|to|under|using|with|theo|duoi|dang|thanh|ra|o)\s+)?(?:(?:a|an|one|mot)\s+)?"
    r"(?:(?:structured|valid|clean|proper|plain|well[- ]formed|co cau truc|cau truc)\s+)?"
    r"(?:dang\s+)?json(?:\s+(?:object|format|string|output|dict|dictionary|schema))?\b"
)
_ALL = re.compile(r"\b(?:all|every|everything|tat ca|toan bo|moi truong|moi thong tin|day du cac)\b")
_VERBS = re.compile(
    r"\b(?:please|pls|kindly|can you|could you|hay|vui long|xin|giup toi|giup|extract|extraction|get|read|find|"
    r"return|give me|give|list|pull|output|show|provide|capture|parse|identify|detect|trich xuat|trich|lay ra|lay|"
    r"doc|tim|xuat|cho toi|cho biet|dua ra|nhan dien|tra ve|ocr|scan)\b"
)
_NOUNS = re.compile(
    r"\b(?:fields?|information|info|details?|data|values?|keys?|entries|thong tin|cac truong|truong|cac|gia tri|"
    r"du lieu|following|sau day|sau|of the document|of this document|from the document|from this document|"
    r"from the image|from this image|from the file|in the document|tren tai lieu|trong tai lieu|cua tai lieu|"
    r"tu tai lieu|tu anh|trong anh)\b"
)
# A clause naming the document itself ("from this invoice", "trong hóa đơn"), not a field.
_SOURCE = re.compile(
    r"\b(?:from|in|on|of|tu|trong|tren|cua)\s+(?:(?:the|this|that|my|attached|given|nay|kem theo)\s+)?"
    r"(?:document|image|invoice|receipt|id card|card|file|photo|picture|scan|order|page|pdf|tai lieu|anh|hinh|"
    r"hoa don|chung tu|the)s?(?:\s+(?:nay|sau|duoi day))?\b(?=\s*(?:[,;:\n]|and\b|va\b|$))"
)
# Phrases whose own words would split them: "họ và tên" (full name), "ngày, tháng, năm sinh" (date of birth).
_COMPOUNDS = ((re.compile(r"\bho\s+va\s+ten\b"), "ho ten"),
              (re.compile(r"\bngay\s*,?\s*thang\s*,?\s*nam\s+sinh\b"), "ngay thang nam sinh"),
              (re.compile(r"\bngay\s*,?\s*thang\s*,?\s*nam\s+cap\b"), "ngay thang nam cap"))
_SPLIT = re.compile(r"[,;:\n()\[\]{}]|\band\b|\bva\b|&|\+|\bplus\b|\bcung voi\b|\bwith\b|\bvoi\b")
_EDGE_WORDS = {"the", "a", "an", "its", "their", "of", "from", "on", "in", "for", "to", "me", "us", "please",
               "cua", "la", "tren", "trong", "cho", "tu", "ve", "ca", "cung", "nhu", "then", "also", "only", "what",
               "which", "is", "are", "how", "much", "gi", "bao", "nhieu", "nao"}


@dataclass(frozen=True)
class PromptAsk:
    """What one prompt asks for.

    Attributes:
        all_fields: every field of the detected document type.
        phrases: otherwise, the field phrases in prompt order (folded text).
    """

    all_fields: bool
    phrases: tuple[str, ...] = ()


# A phrase naming the document itself ("this invoice", "hóa đơn này"), not one of its fields.
_DETERMINERS = {"this", "the", "that", "my", "attached", "nay"}
_DOCUMENT_WORDS = {"document", "documents", "image", "images", "invoice", "invoices", "receipt", "receipts", "card",
                   "id", "file", "photo", "picture", "scan", "order", "page", "pdf", "tai", "lieu", "anh", "hinh",
                   "hoa", "don", "chung", "tu", "the", "this", "that", "my", "attached", "nay"}


def _trim(phrase: str) -> str:
    words = re.findall(r"[a-z0-9#]+", phrase)
    if words and _DETERMINERS & {words[0], words[-1]} and set(words) <= _DOCUMENT_WORDS:
        return ""
    while words and words[0] in _EDGE_WORDS:
        words.pop(0)
    while words and words[-1] in _EDGE_WORDS:
        words.pop()
    return " ".join(words)


def parse_prompt(prompt: str) -> PromptAsk:
    """Read a legacy prompt for the fields it asks for.

    Args:
        prompt: the client's free text (any length; the first
            :data:`MAX_PROMPT_CHARS` characters are read).

    Returns:
        ``PromptAsk(all_fields=True)`` for "all fields" (or a prompt that
        names none), else the phrases, e.g. ``("total", "date")`` for
        "Extract total and date".
    """
    text = fold(prompt[:MAX_PROMPT_CHARS])
    text = re.sub(r"[.!?]+(\s|$)", "\n", text)
    text = _FORMAT.sub("\n", text)
    for pattern, replacement in _COMPOUNDS:
        text = pattern.sub(replacement, text)
    text = _SOURCE.sub(" ", text)
    if _ALL.search(text):
        return PromptAsk(True)
    text = _NOUNS.sub(" ", _VERBS.sub(" ", text))
    phrases: list[str] = []
    for piece in _SPLIT.split(text):
        phrase = _trim(piece)
        if phrase and phrase not in phrases:
            phrases.append(phrase)
    if not phrases:
        return PromptAsk(True)
    return PromptAsk(False, tuple(phrases[:MAX_PHRASES]))
