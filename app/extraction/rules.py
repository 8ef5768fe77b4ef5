"""Rule reader: patterns and printed-caption anchors over OCR lines.

Runs before the LLM. For each field it looks for the field's captions
("Tổng tiền", "TOTAL", "Ngày sinh", ...) in the OCR lines and reads the value
after the caption on the same line, on the next line of the same visual row,
or on the line below; values are validated by kind (a date must parse, an
amount must parse, an ID number must have 12 digits). Receipt headers (seller
name, address) have no caption on most receipts and are read by position.

Matching is done on *folded* text (:func:`app.extraction.normalize.fold`):
lower case, Vietnamese diacritics removed, ``đ`` -> ``d``, one character per
input character (so offsets in folded text index the original), so
``TỔNG TIỀN``, ``Tong tien`` and the PP-OCRv6 misreading ``Tông tiên`` all
match ``tong tien``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from dataclasses import dataclass

from app.domain import Candidate, OcrResult, TextLine
from app.extraction.doctypes import DOCUMENT_NUMBER_KEYS, FieldSpec
from app.extraction.normalize import (
    MONTH_NAMES,
    fold,
    normalize_text,
    parse_amount,
    parse_date,
    similarity,
)
from app.classify.language import is_vietnamese
from app.extraction.currency import currency_of
from app.extraction.layout import continue_lines, next_lines, upright
from app.extraction.readers.receipt_header import read_address, read_seller
from app.extraction.repairs import (fix_malaysian_address, repair_amount_text, repair_total, strip_latin_accents,
                                    strip_letters_before_amount)
from app.geometry import local_text_angles

_MONTHS = r"(?:" + "|".join(sorted(MONTH_NAMES, key=len, reverse=True)) + r")[a-z]*"  # over folded text
# Dates inside OCR lines, overlapping candidates allowed. Seen glued to other digits:
# "2018-01-0522:55:25" (a time right after the day), "#19536001/06/2018" (a number
# before the day), "26-05--201815:16:13" (doubled separator), "14May/2017".
_DATE_SCAN = re.compile(
    r"(?=(?<!\d)(\d{4}\s*[/.\-]\s*\d{1,2}\s*[/.\-]\s*\d{1,2}(?!\d{1,2}\b(?!\s*:))"
    r"|\d{1,2}\s*[/.\-]{1,2}\s*\d{1,2}\s*[/.\-]{1,2}\s*(?:\d{4}|\d{2}(?!\d))"
    r"|\d{1,2}\s*[/.\- ]?\s*" + _MONTHS + r"\.?\s*[/.\-, ]\s*\d{2,4}"
    r"|" + _MONTHS + r"\.?\s+\d{1,2},?\s+\d{4}"
    r"|\d{8}(?!\d)))", re.I)
_DATE_AFTER_DIGITS = re.compile(r"\d((?:0[1-9]|[12]\d|3[01])/(?:0[1-9]|1[0-2])/(?:19|20)\d{2})(?!\d)")
_AMOUNT = re.compile(r"(?<![\w.,])-?(?:RM|VND|VNĐ|USD|\$|€)?\s*\d{1,3}(?:[.,\s]\d{3})+(?:[.,]\d{1,2})?(?:\s*(?:đ|d|vnd|vnđ))?(?![\d%])"
                     r"|(?<![\w.,])-?(?:RM|\$|€)?\s*\d+(?:[.,]\d{1,2})?(?:\s*(?:đ|vnd|vnđ))?(?![\w%.,/])", re.I)
_ID12 = re.compile(r"(?<!\d)(\d{12})(?!\d)")
# Words that make a top line look like an address on Vietnamese receipts (folded).
_TOTAL_EXCLUDE = re.compile(r"(sub ?-?total|\b(qty|quantity|items?|so luong|sl|service|discount|giam gia|giam|"
                            r"chiet khau|"
                            r"phuong thuc|hinh thuc|"
                            r"change|tien thua|tra lai|khach dua|tien khach|khach tra|cash|tien mat|savings|tiet kiem|"
                            r"rounding|round adj|adjustment|before|chua|tendered|paid|deposit|points?|tong ket)\b)")
# A footnote stating the tax a total includes, with its rate ("TOTAL INCLUDED GST @ 6%", "GST INCLUDED 6%").
_TAX_INCLUDED_NOTE = re.compile(r"\b(included|inclusive of)\b.*\b(gst|vat|tax|sst)\b\s*@?\s*\d+(\.\d+)?\s*%"
                                r"|\b(gst|vat|tax|sst)\b\s*@?\s*\d+(\.\d+)?\s*%?\s*\bincluded\b")
# Tax words exclude a line unless it is the tax-inclusive total.
_TOTAL_TAX_ONLY = re.compile(r"\b(tax|gst|vat|sst|excl|excluding|thue|ht|hors taxes?|tva|btw|mwst|ust|netto)\b")
_TOTAL_PRIORITY = (
    (re.compile(r"\b(rounded|rounding adj|after round|nett? total|grand total|total amount|amount due|"
                r"total payable|total due|total rm|total \(rm\)|total sales \(incl|total incl|incl\.? gst|"
                r"inclusive gst|"
                r"tong tien phai|tong thanh toan|tong so thanh toan|thanh toan|phai thanh toan|phai tra|"
                r"tong cong|tong tien|"
                # invoices in French, Dutch, German, Polish
                r"total ttc|montant ttc|total facture|net a payer|a payer|factuur totaal|te betalen|"
                r"gesamtbetrag|rechnungsbetrag|zu zahlen|do zaplaty)\b"), 0.9),
    (re.compile(r"\b(total|tong|cong tien hang|totaal|razem|summe)\b|^\W*due\b(?!\s*(date|on|by))"), 0.8),
)


@dataclass(frozen=True)
class _Hit:
    index: int
    after: str  # text after the caption on the same line
    anchor: str = ""  # the caption matched


class RuleReader:
    """Reads fields from OCR lines by caption anchors and patterns.

    Args:
        default_currency: currency assumed for amounts printed without one
            (None: leave unknown).
        address_model: the learned line-role model that picks a receipt's
            address lines (:mod:`app.extraction.line_roles`) where it is surer
            than the layout rules by its ``rule_margin``: ``"default"`` (the
            default) for the committed model (loaded on first use), a
            :class:`app.extraction.line_roles.TreeEnsemble`, or None for the
            layout rules alone.
    """

    def __init__(self, default_currency: str | None = None, address_model="default"):
        self.default_currency = default_currency
        self._address_model = address_model

    @property
    def address_model(self):
        """The address line model in use (None: rules only); ``"default"`` is loaded here, once."""
        if isinstance(self._address_model, str):
            from app.extraction.line_roles import DEFAULT_MODEL, load_model

            self._address_model = load_model(DEFAULT_MODEL)
        return self._address_model

    def read(self, ocr: OcrResult, specs: list[FieldSpec], document_type: str | None = None) -> list[Candidate]:
        """Candidates for the fields in ``specs`` (at most one per field).

        Args:
            ocr: OCR lines in reading order.
            specs: the fields wanted.
            document_type: enables position rules for receipt headers.

        Returns:
            Candidates with ``source="rule"`` and the indices of the lines used.
        """
        lines = upright(ocr)
        folded = [fold(line.text) for line in lines]
        # Per call, not on self: one reader serves concurrent requests.
        vietnamese = is_vietnamese(ocr)
        currency = self.default_currency or currency_of(ocr)
        amount_in = functools.partial(self._amount_in, currency=currency)
        # The text slope around each line, once per page, for the same-row tests of captions and values.
        rows = functools.partial(next_lines, slopes=[math.tan(a) for a in local_text_angles(lines)])
        out: list[Candidate] = []
        for spec in specs:
            cand = None
            if spec.key == "total" or (spec.kind == "amount" and spec.key in ("total",)):
                cand = self._total(lines, folded, spec, amount_in, rows)
            elif spec.kind == "amount":
                cand = self._anchored(lines, folded, spec, amount_in, rows)
            elif spec.kind == "date":
                # The document's date, not the date its payment is due.
                skip = _DUE_DATE if spec.key == "date" else None
                cand = self._anchored(lines, folded, spec, self._date_in, rows, skip=skip)
                if cand is None and sum(s.kind == "date" for s in specs) == 1:
                    cand = self._first(lines, spec, self._date_in, confidence=0.7)
            elif spec.kind == "id_number":
                cand = self._anchored(lines, folded, spec, self._id_in, rows)
                if cand is None and spec.key == "id_number":
                    cand = self._first(lines, spec, self._id_in, confidence=0.75)
            elif spec.key in DOCUMENT_NUMBER_KEYS:
                cand = self._anchored(lines, folded, spec, self._number_in, rows, specific_first=True)
            elif spec.kind == "enum" and spec.key == "sex":
                cand = self._anchored(lines, folded, spec, self._sex_in, rows)
            elif document_type in ("receipt", "invoice") and spec.key == "seller":
                cand = read_seller(lines, folded)
            elif document_type == "receipt" and spec.key == "address":
                cand = read_address(lines, folded, out, vietnamese, self.address_model)
            elif spec.anchors:
                cand = self._anchored(lines, folded, spec, self._text_in, rows)
            if cand is not None:
                if currency == "MYR" and spec.kind == "text" and isinstance(cand.value, str):
                    # Malay and English use no diacritics: "JAYÀ", "CHÉRAS" are specks read as accents.
                    plain = strip_latin_accents(cand.value)
                    if spec.key == "address":
                        plain = fix_malaysian_address(plain)
                    cand = dataclasses.replace(cand, value=plain, normalized=plain) if plain != cand.value else cand
                out.append(cand)
        return out

    # ------------------------------------------------------------ value parsers
    def _date_in(self, text: str, spec: FieldSpec):
        """The first substring that parses as a date (overlapping candidates
        are tried, so ``#19-18/03/201823:02:16`` yields ``18/03/2018``); month
        names are matched on the folded text (``29 maart 2014``, ``02 Février 2015``)."""
        for match in _DATE_SCAN.finditer(fold(text)):
            raw = text[match.start(1) : match.end(1)]
            parsed = parse_date(raw)
            if parsed is not None:
                return raw.strip(), parsed.isoformat()
        glued = _DATE_AFTER_DIGITS.search(text)  # dd/mm/yyyy right after other digits
        if glued:
            parsed = parse_date(glued.group(1))
            if parsed is not None:
                return glued.group(1), parsed.isoformat()
        return None

    def _amount_in(self, text: str, spec: FieldSpec, currency: str | None = None):
        """The last money-looking amount on the line (decimals, a currency or
        thousands groups), else the last bare number; numbers right after ``@``
        (rates) are skipped."""
        found = []
        for match in _AMOUNT.finditer(text):
            raw = match.group(0).strip()
            if match.start() > 0 and text[match.start() - 1] == "@":
                continue
            parsed = parse_amount(raw, currency)
            if parsed is None or not re.search(r"\d", raw):
                continue
            value, currency = parsed
            money = bool(re.search(r"[.,]\d{1,2}$|[.,\s]\d{3}\b|rm|\$|€|đ|vnd", raw, re.I))
            found.append((money, raw, {"amount": str(value), "currency": currency}))
        if not found:
            return None
        money = [f for f in found if f[0]]
        _, raw, normalized = (money or found)[-1]
        return raw, normalized

    @staticmethod
    def _looks_like_money(raw: str) -> bool:
        return bool(re.search(r"[.,]\d{1,2}$|\d[.,\s]\d{3}(\D|$)|rm|\$|€|đ|vnd", raw, re.I))

    def _id_in(self, text: str, spec: FieldSpec):
        match = _ID12.search(text.replace(" ", ""))
        return (match.group(1), match.group(1)) if match else None

    def _sex_in(self, text: str, spec: FieldSpec):
        f = fold(text)
        if re.search(r"\bnu\b|\bfemale\b|\bf\b", f):
            return text.strip(), "F"
        if re.search(r"\bnam\b|\bmale\b|\bm\b", f):
            return text.strip(), "M"
        return None

    @staticmethod
    def _number_in(text: str, spec: FieldSpec):
        """A document number (invoice, order): the first token of letters, digits and
        ``#/-_.`` that holds a digit (``INV/2023/03/0008``, ``#BLR_WFLD2015``, ``IBZY2087``);
        a caption's sentence ("Invoice from Amazon Web Services") holds none."""
        for token in re.findall(r"[#\w/.\-]+", text):
            token = token.strip(".-/")
            if not 3 <= len(token) <= 40 or not re.search(r"\d", token) or parse_date(token) is not None:
                continue
            if (token.isdigit() and len(token) < 4) or re.fullmatch(r"\d*[.,]\d+(?:[.,]\d+)*", token):
                continue  # a count or an amount
            return token, token
        return None

    def _text_in(self, text: str, spec: FieldSpec):
        value = normalize_text(text.strip(" :.-/"))
        folded = fold(value)
        if len(value) < 2 or _CAPTION_ONLY.fullmatch(folded):
            return None  # the next caption ("Address"), not the value
        if not spec.multiline and (parse_date(value) is not None or not re.search(r"[^\W\d_]{2,}", value)
                                   or any(pattern.search(folded) for pattern, _ in _TOTAL_PRIORITY)):
            return None  # a name holds a word, and no date or total ("TOTAL AMOUNT DUE ON August 3, 2014")
        if spec.key == "nationality" and similarity(folded, "viet nam") >= 0.75:
            return value, "Việt Nam"  # printed "Việt Nam", often read without its tone marks
        return value, value

    # ------------------------------------------------------------ strategies
    def _hits(self, folded: list[str], spec: FieldSpec) -> list[_Hit]:
        hits = []
        for i, f in enumerate(folded):
            for anchor in sorted(spec.anchors, key=len, reverse=True):
                pos = f.find(anchor)
                if pos < 0:
                    continue
                if pos > 0 and f[pos - 1].isalnum():
                    continue
                hits.append(_Hit(i, f[pos + len(anchor):], anchor))
                break
        return hits

    def _anchored(self, lines: list[TextLine], folded: list[str], spec: FieldSpec, parse, rows, confidence=0.9,
                  specific_first: bool = False, skip: re.Pattern | None = None):
        """The first value ``parse`` reads after a caption of ``spec``: on the caption's line,
        then on its row and the next lines (``rows``). Captions are tried top to bottom, or,
        with ``specific_first``, longest caption first ("Invoice Number:" before a title's
        "Invoice"); caption lines that ``skip`` matches (folded) are passed over."""
        hits = self._hits(folded, spec)
        if skip is not None:
            hits = [h for h in hits if not skip.search(folded[h.index])]
        if specific_first:
            hits.sort(key=lambda h: -len(h.anchor))
        for hit in hits:
            line = lines[hit.index]
            # Same line, after the caption: map the folded offset back onto the original text.
            tail = line.text[len(folded[hit.index]) - len(hit.after):].lstrip(" :.-/")
            for indices, text in ([(hit.index,), tail],
                                  *[((j,), lines[j].text) for j in rows(lines, hit.index)]):
                if not text or not text.strip(" :./-"):
                    continue
                got = parse(text, spec)
                if got is not None:
                    value, normalized = got
                    if spec.multiline and spec.kind == "text":
                        value, normalized, indices = continue_lines(lines, folded, indices, value)
                    return Candidate(spec.key, value, normalized, confidence * line.confidence, "rule",
                                     tuple(indices), {"anchor": True})
        return None

    def _first(self, lines, spec, parse, confidence):
        for i, line in enumerate(lines):
            got = parse(line.text, spec)
            if got is not None:
                return Candidate(spec.key, got[0], got[1], confidence * line.confidence, "rule", (i,),
                                 {"anchor": False})
        return None

    def _total(self, lines, folded, spec, amount_in, rows):
        found = []
        # "TỔNG KẾT GIAO DỊCH" (a payment terminal's transaction summary, read "TÔNG KẾT GIAU DỊCH"):
        # no total caption; the sum of the transactions is printed after "TẠI QUẦY".
        summary = any(re.search(r"\btong ket gia\w* dich\b", f) for f in folded)
        for i, f in enumerate(folded):
            f = repair_total(f)  # "tota/sales", "tota1"
            if _TOTAL_EXCLUDE.search(f) and not re.search(r"\brounded\b|after round", f):
                continue
            if re.search(r"\btong so\b(?!\s*(tien|thanh toan|phai))", f):
                continue  # "Tổng số: 24": the number of items
            if _TOTAL_TAX_ONLY.search(f) and not re.search(r"incl|inkl|ttc|gom|bao gom", f):
                continue
            if _TAX_INCLUDED_NOTE.search(f):
                continue  # "(TOTAL INCLUDED GST @ 6% : 1.42)": the tax the total holds, not the total
            weight = next((w for pattern, w in _TOTAL_PRIORITY if pattern.search(f)), None)
            if weight is None and summary and re.match(r"\W*tai quay\b", f):
                weight = 0.7  # a payment terminal's daily summary: the sum taken "at the counter"
            if weight is None:
                continue
            got, j = self._amount_after(lines, i, spec, amount_in, rows)
            if got is not None and not got[1]["amount"].startswith("-"):  # a negative amount is a discount
                found.append((weight, bool(re.search(r"\brounded\b|after round", f)), got,
                              (i, j) if j != i else (i,)))
        if not found:
            return self._subtotal(lines, folded, spec, amount_in, rows)
        rounded = [c for c in found if c[1]]
        pool = rounded or found
        money = [c for c in pool if self._looks_like_money(c[2][0])]
        pool = money or pool
        top = max(w for w, *_ in pool)
        best = [c for c in pool if c[0] == top]
        if len({c[2][1]["amount"] for c in best}) > 1:
            # Captions that disagree: the amount the customer handed over is not the total.
            paid = self._paid_amounts(lines, folded, spec, amount_in, rows)
            best = [c for c in best if c[2][1]["amount"] not in paid] or best
        weight, _, (value, normalized), indices = max(best, key=lambda c: float(c[2][1]["amount"]))
        # A total printed after a rounding line is the rounded one ("Total Amount 31.47",
        # "Rounding -0.02", "TOTAL 31.45").
        after = [c for c in pool
                 if any(_ROUNDING.search(folded[k]) for k in range(max(max(indices) + 1, min(c[3]) - 3), min(c[3])))]
        if after:
            weight, _, (value, normalized), indices = after[-1]
        conf = weight * min(lines[k].confidence for k in indices)
        checks = {"anchor": True}
        if not rounded:
            adjusted = self._rounding_adjusted(lines, folded, spec, amount_in, rows, normalized, max(indices))
            if adjusted is not None:
                (value, normalized), adj_indices, adjustment = adjusted
                indices = tuple(indices) + adj_indices
                checks["rounding_adjustment"] = adjustment
        return Candidate(spec.key, value, normalized, conf, "rule", tuple(indices), checks)

    def _subtotal(self, lines, folded, spec, amount_in, rows):
        """No total caption on the page: the last subtotal is the amount due
        ("SUBTOTAL (QTY 3) RM41.45" after the rounding line), at lower confidence."""
        for i in range(len(folded) - 1, -1, -1):
            if not re.search(r"\bsub ?-?total\b", folded[i]) or _TOTAL_TAX_ONLY.search(folded[i]):
                continue
            got, j = self._amount_after(lines, i, spec, amount_in, rows)
            if got is not None and self._looks_like_money(got[0]):
                return Candidate(spec.key, got[0], got[1], 0.6 * min(lines[i].confidence, lines[j].confidence),
                                 "rule", (i, j) if j != i else (i,), {"anchor": True, "subtotal": True})
        return None

    def _paid_amounts(self, lines, folded, spec, amount_in, rows) -> set[str]:
        """Amounts printed after payment captions (cash tendered, "Tiền khách
        trả"), when the receipt also prints non-zero change (so what was paid
        is not the total); else the empty set."""
        from decimal import Decimal, InvalidOperation

        paid, change = set(), False
        for i, f in enumerate(folded):
            payment = re.search(r"\b(cash|tendered|paid|tien khach tra|khach dua|tien khach dua|tien mat)\b", f)
            returned = re.search(r"\b(change|tien thua|tra lai|tien thoi)\b", f)
            if not (payment or returned):
                continue
            got, _ = self._amount_after(lines, i, spec, amount_in, rows)
            if got is None:
                continue
            if returned:
                try:
                    change = change or Decimal(got[1]["amount"]) != 0
                except (InvalidOperation, KeyError):
                    pass
            else:
                paid.add(got[1]["amount"])
        return paid if change else set()

    def _amount_after(self, lines, i, spec, amount_in, rows):
        """The amount a caption on line ``i`` introduces: on the same line after
        it, on the same row to its right, or on the next lines; a money-looking
        amount ("71.90") is preferred over a bare number ("66" of "GST@66")."""
        first = None
        for j in (i, *rows(lines, i)):
            if j != i and re.search(r"\d\s*%", lines[j].text):
                break  # a tax summary row ("S 6.00% 39.09 2.34 41.43"): the caption is its column header
            text = lines[j].text if j != i else strip_letters_before_amount(repair_total(lines[i].text))
            text = repair_amount_text(text)  # specks, a misread RM / VND or decimal point
            got = amount_in(text, spec)
            if got is None:
                continue
            if self._looks_like_money(got[0]):
                return got, j
            if first is None:
                first = (got, j)
        return first if first is not None else (None, i)

    def _rounding_adjusted(self, lines, folded, spec, amount_in, rows, total, last):
        """A total printed before its cash rounding adjustment ("TOTAL AMT. 60.31",
        "ROUNDING ADJ -0.01") -> the rounded amount (60.30): only when the
        adjustment line comes after the total's lines, is smaller than 0.10,
        and no total line follows it. Returns ``((value, normalized),
        adjustment line indices, adjustment)`` or None."""
        from decimal import Decimal, InvalidOperation

        for k in range(last + 1, min(len(lines), last + 6)):
            f = folded[k]
            if re.search(r"\b(cash|tunai|tien mat|paid|tendered|change|payment)\b", f):
                return None  # an adjustment after the payment belongs to the change
            if not _ROUNDING.search(f) or re.search(r"\brounded\b", f):
                continue
            if any(re.search(r"\btotal\b|\btong\b", folded[m]) for m in range(k + 1, min(len(lines), k + 4))):
                return None  # a (rounded) total is printed after the adjustment
            got, j = self._amount_after(lines, k, spec, amount_in, rows)
            if got is None:
                continue
            try:
                adjustment = Decimal(got[1]["amount"])
                amount = Decimal(total["amount"])
            except (InvalidOperation, KeyError, TypeError):
                return None
            if abs(adjustment) >= Decimal("0.10") and abs(adjustment - amount) < Decimal("0.10"):
                # "Rounding RM 27.30" under "Total 27.28": the rounded total itself.
                return got, ((k, j) if j != k else (k,)), str(adjustment - amount)
            if adjustment == 0 or abs(adjustment) >= Decimal("0.10"):
                return None
            rounded = amount + adjustment
            normalized = {**total, "amount": str(rounded)}
            return (str(rounded), normalized), ((k, j) if j != k else (k,)), str(adjustment)
        return None

# A value that is only the next caption (folded).
_CAPTION_ONLY = re.compile(r"(address|name|account( number| no\.?)?|phone|tel|e-?mail|date|dia chi|ho ten|ten|"
                           r"so dien thoai|adresse|nom|naam|adres|anschrift)\s*:?")
# Captions of the date a payment is due (not the document's date).
_DUE_DATE = re.compile(r"\b(due date|payment due|pay by|date limite|echeance|vervaldatum|uiterlijk|"
                       r"falligkeit\w*|zahlbar bis|termin platnosci|han thanh toan)\b")


_ROUNDING = re.compile(r"\b(rounding|round adj)")


