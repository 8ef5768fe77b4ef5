"""Text: whitespace and Unicode normal form, folding for comparison, captions stripped."""

from __future__ import annotations

import re
import unicodedata


_WS = re.compile(r"\s+")


def normalize_text(s: str | None) -> str:
    """Unicode NFC, every run of whitespace (incl. newlines, NBSP) -> one space, stripped.

    Args:
        s: any text; None gives ``""``.

    Returns:
        The cleaned text.
    """
    if not s:
        return ""
    return _WS.sub(" ", unicodedata.normalize("NFC", str(s))).strip()


def fold(s: str) -> str:
    """Lower-case, diacritic-free form of ``s`` with exactly one character per
    input character, so positions in the folded text index the original.

    ``"Tổng Tiền: 408.000đ"`` -> ``"tong tien: 408.000d"``. Vietnamese ``đ``/``Đ``
    fold to ``d``; a character whose folding is not one character is kept
    lower-cased (or as is).
    """
    out = []
    for ch in s:
        if ch in "đĐ":
            out.append("d")
            continue
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        base = base.lower() if base else ch
        if len(base) != 1:
            low = ch.lower()
            base = low if len(low) == 1 else ch
        out.append(base)
    return "".join(out)


# Printed captions that precede values on receipts, invoices and ID cards,
# written in folded form (lower case, no diacritics; ``đ`` -> ``d``). Spaces
# match any whitespace (or none), a ``.`` is optional. Built from the MC-OCR
# 2021 labels (seller / address / timestamp / total_cost include the printed
# key words, with the receipts' own typos such as "Tống số", "Tiên", "Thòi")
# and from the English captions of SROIE receipts and invoices.
CAPTIONS: tuple[str, ...] = (
    # totals (Vietnamese)
    "tong tien phai t.toan", "tong tien phai thanh toan", "tong so tien thanh toan", "tong so thanh toan",
    "tong tien thanh toan", "tong thanh toan", "tong tien hang", "tong tien", "tong cong (da gom vat)",
    "tong cong cong", "tong cong", "tong phai tra", "tong phai trai",
    "hong tien phai t.toan", "dong so thanh toan",  # OCR-damaged "TỔNG TIỀN", "Tổng số" in the labels
    "cong tien hang tien hang", "cong tien hang", "cong tien", "tien thanh toan",
    "khach phai tra", "khach can tra", "phai thanh toan", "tai quay",
    # totals (English)
    "grand total", "total amount due", "total amount", "total due", "total (rm)", "total rm", "total incl. gst",
    "total inclusive gst", "total vnd", "nett total", "net total", "rounded total", "total", "amount due",
    "balance due",
    # dates and times
    "ngay ban", "ngay mua", "ngay in", "ngay hd", "thoi gian", "gio vao", "gio ra",
    "date/time", "date & time", "invoice date",
    # sellers and addresses
    "ten dai ly", "ten cua hang", "dia chi dai ly", "dia chi", "d/c", "address",
    # identity documents
    "ho va ten / full name", "ho va ten", "ho ten", "full name", "so / no.", "so/no", "ngay sinh / date of birth",
    "ngay sinh", "date of birth", "gioi tinh / sex", "gioi tinh", "quoc tich / nationality", "quoc tich",
    "que quan / place of origin", "que quan", "noi thuong tru / place of residence", "noi thuong tru",
    "co gia tri den / date of expiry", "co gia tri den", "date of expiry",
    # invoices
    "invoice number", "invoice no.", "invoice #", "receipt no.", "bill no.", "sold by",
)

# Short captions that are also ordinary words at the start of a value ("Số 36
# Đường Trần Phú" is an address, "Time Square" a place, "Cửa hàng Năm Oánh" a
# shop name): stripped only before a colon or semicolon.
COLON_CAPTIONS: tuple[str, ...] = (
    "so", "no", "ten", "name", "ma", "ma so", "mst", "tel", "dt", "dc", "add", "addr", "ngay", "gio", "date",
    "dated", "time", "tong", "tong so", "so tien", "thanh toan", "amount", "invoice", "company", "merchant",
    "seller", "cua hang", "currency",
)


def _caption_pattern(phrase: str) -> str:
    parts = []
    for token in phrase.split(" "):
        piece = ""
        for ch in token:
            piece += r"\.?" if ch == "." else re.escape(ch)
        parts.append(piece)
    return r"\s*".join(parts)


def _alternation(phrases) -> str:
    return "|".join(_caption_pattern(p) for p in sorted(set(phrases), key=len, reverse=True))


_CAPTION_RE = re.compile(
    r"^[\s:;.,\-/|*#]*(?:" + _alternation(CAPTIONS) + r")(?![a-z0-9])[\s:;.,\-/|*]*"
    r"|^[\s:;.,\-/|*#]*(?:" + _alternation(COLON_CAPTIONS) + r")\s*[:;][\s:;.,\-/|*]*"
)


def strip_caption(s: str | None) -> str:
    """Remove printed captions/labels in front of a value, repeatedly.

    Case-, diacritic- and spacing-insensitive (``"TỔNG TIỀN PHẢI T.TOÁN 42.904"``,
    ``"Tống số thanh toán: 408.000đ"``, ``"Ngày bán: 14/08/2020 11:16"``,
    ``"ĐC: 212 Đường Trần Phú"``, ``"TOTAL RM 60.30"``, ``"Họ và tên / Full name: ..."``).
    The caption must end at a non-letter; short ones that are ordinary words
    (``Số``, ``Tên``, ``No``) only before a colon.

    Args:
        s: a value as printed.

    Returns:
        The value without its captions (NFC, whitespace collapsed); ``""`` when
        the whole string was a caption.
    """
    text = normalize_text(s)
    for _ in range(4):  # "Tổng cộng: Total RM ..." has stacked captions
        m = _CAPTION_RE.match(fold(text))
        if not m or m.end() == 0:
            break
        text = text[m.end():].strip()
    return text


