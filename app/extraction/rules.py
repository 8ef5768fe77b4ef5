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
from collections import Counter
from dataclasses import dataclass

from app.domain import Candidate, OcrResult, TextLine
from app.domain import box_bottom as _bottom, box_left as _left, box_right as _right, box_top as _top
from app.domain import same_row as _same_row
from app.extraction.doctypes import DOCUMENT_NUMBER_KEYS, FieldSpec
from app.extraction.normalize import (
    MONTH_NAMES,
    detect_currency,
    fold,
    normalize_text,
    parse_amount,
    parse_date,
    similarity,
)
from app.classify.language import looks_vietnamese
from app.extraction.lexicon import (BRANDS as _BRANDS, COMPANY_SUFFIX as _COMPANY_SUFFIX, DATE_HINT as _DATE_HINT,
                                     HEADER_NOISE as _HEADER_NOISE, PHONE_OR_META as _PHONE_OR_META,
                                     POSTCODE as _POSTCODE, REGION as _REGION, REGISTRATION_LINE as _REGISTRATION_LINE, TABLE_START as _TABLE_START)
from app.extraction.repairs import (fix_malaysian_address, fix_name_digits, repair_amount_text, repair_total,
                                    strip_latin_accents, strip_letters_before_amount)
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
_VI_ADDRESS_WORD = re.compile(r"\b(to|t|khu|p\.?|phuong|q\.?|quan|tp\.?|thanh pho|duong|xa|huyen|tinh|cho|ch|"
                              r"ngo|thon|so nha|kp|ap|ha noi|ninh|gia lam)\b")
_LEGAL_SUFFIX = re.compile(r"\b(sdn|bhd|berhad|s/b|enterprise|trading|plt|tnhh|co\.? ?ltd)\b")
_SUFFIX_ONLY = re.compile(r"[(\[]?m?[)\]]?\s*(sdn\.?|bhd\.?|berhad|sdn\.? ?bhd\.?)\s*")
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
        lines = _upright(ocr)
        folded = [fold(line.text) for line in lines]
        # Per call, not on self: one reader serves concurrent requests.
        vietnamese = looks_vietnamese([line.text for line in lines])
        currency = self.default_currency or _currency_context(lines, folded, vietnamese)
        amount_in = functools.partial(self._amount_in, currency=currency)
        # The text slope around each line, once per page, for the same-row tests of captions and values.
        rows = functools.partial(_next_lines, slopes=[math.tan(a) for a in local_text_angles(lines)])
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
                cand = self._seller(lines, folded)
            elif document_type == "receipt" and spec.key == "address":
                cand = self._address(lines, folded, out, vietnamese)
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
                        value, normalized, indices = _continue_lines(lines, folded, indices, value)
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

    def _seller(self, lines, folded):
        """The issuer's name: the first top line with a company-type word
        (SDN BHD, ENTERPRISE, CÔNG TY, SIÊU THỊ, ...), joined with the line above
        when the name starts on it; else the first plausible header line.
        Registration numbers after the name ("(126926-H)") are dropped."""
        top = min(len(lines), 8)
        for i in range(min(len(lines), 5)):
            if _caption_alone(folded[i], ("tendaily", "tencuahang", "donvibanhang", "donviban")):
                # "TÊN ĐẠI LÝ:" (Payoo slips): the name below it, past the payment provider's logo ("Pay").
                for j in range(i + 1, min(len(lines), i + 4)):
                    letters = re.sub(r"[^a-z]", "", folded[j])
                    if len(letters) >= 4 and not letters.startswith("pay") and not _caption_alone(folded[j], ("diachi",)):
                        return _text_candidate("seller", lines, (j,), 0.75, _canonical_seller)
                break

        def plausible(i):
            f = folded[i]
            return (len(re.sub(r"[^a-z]", "", f)) >= 3 and not _HEADER_NOISE.match(f.strip(" .,:*-"))
                    and not re.match(r"[ .,:*-]*(thank|tq for|counter|welcome|terima kasih)", f)
                    and not _PHONE_OR_META.search(f) and not re.fullmatch(r"[\d\W]+", f)
                    and not f.rstrip().endswith(":")  # a caption ("Account number:"), not a name
                    and lines[i].text != lines[i].text.lower())  # handwriting/annotations are read lower-case

        for i in range(top):
            if _COMPANY_SUFFIX.search(folded[i]) and not _PHONE_OR_META.search(folded[i]):
                indices = (i,)
                # A legal suffix on its own line ("SDN BHD") continues the name above it; a
                # brand ("VinCommerce") or a shop-type word ("CỬA HÀNG ...") starts the name.
                starts_with_suffix = _COMPANY_SUFFIX.match(folded[i]) and not re.match(
                    r"(restaurant|restoran|cong ty|cua hang|sieu thi|nha sach|minimart|" + _BRANDS + ")", folded[i])
                # The suffix within the line's first two words ("(SEMENYIH) SDN BHD"): the name began above.
                early_suffix = bool(re.match(r"\S+\s+(sdn|bhd|berhad|s/b)\b", folded[i]))
                first = i
                while first > 0 and _split_word(lines, folded, first - 1, first, before=True):
                    first -= 1  # a word of the same printed line that the detector split off ("FY")
                while (first > 0 and first > i - 3 and plausible(first - 1) and _same_block(lines, first - 1, i)
                       and (starts_with_suffix or early_suffix or len(folded[first].split()) <= 2)
                       and len(folded[first - 1].split()) <= 4):
                    first -= 1
                    starts_with_suffix = early_suffix = False
                last = i
                # Below: a bare legal suffix, the rest of a name cut inside parentheses
                # ("ENTERPRISE (SETIA" / "ALAM)SDN" / "BHD"), or the company behind a
                # restaurant's name ("LEMON TREE RESTAURANT" / "JTJ FOODS SDN BHD").
                last = _name_continues(lines, folded, first, i, plausible)
                return _text_candidate("seller", lines, _name_lines(lines, folded, first, last, i), 0.85,
                                       _canonical_seller)
        for i in range(top):
            if plausible(i):
                last = _name_continues(lines, folded, i, i, plausible)
                return _text_candidate("seller", lines, _name_lines(lines, folded, i, last, i), 0.6,
                                       _strip_registration)
        return None

    def _address(self, lines, folded, found, vietnamese: bool):
        """The seller's address: the layout rules' candidate (:meth:`_address_rules`),
        or, on a page that is not Vietnamese and prints no address caption, the
        lines the learned line-role model picks (:mod:`app.extraction.line_roles`),
        given the rules' seller and address lines as features, when it trusts its
        pick over the rules' by its ``rule_margin`` (:func:`~app.extraction.line_roles.choose_address`)."""
        cand = self._address_rules(lines, folded, found, vietnamese)
        model = self.address_model
        if model is None or vietnamese or (cand is not None and cand.checks.get("anchor")):
            return cand
        from app.extraction.line_roles import choose_address, line_features

        seller = next((c for c in found if c.key == "seller"), None)
        rule_lines = tuple(cand.line_indices) if cand else ()
        rows = line_features(lines, folded, tuple(seller.line_indices) if seller else (), rule_lines, False)
        chosen = choose_address(model, [model.score(r) for r in rows], rule_lines)
        if chosen is None:
            return cand
        picked, probability = chosen
        text = normalize_text(" ".join(lines[i].text for i in picked))
        text = re.sub(r"[\s,.]*\b(TAX ?INVOICE|INVOICE|RECEIPT)\s*$", "", text, flags=re.I) or text
        return Candidate("address", text, text, 0.6 * min(lines[i].confidence for i in picked), "rule",
                         picked, {"anchor": False, "model": "address_lines", "line_probability": round(probability, 3)})

    def _address_rules(self, lines, folded, found, vietnamese: bool):
        """The address by layout rules: a captioned line, the column beside the
        seller, else the lines right after the seller name up to phone, tax or date lines."""
        # Vietnamese receipts: a captioned line "ĐC: ..." / "Địa chỉ: ...".
        for i, f in enumerate(folded[:15]):
            if any(re.search(r"\b(khach hang|nguoi mua|ten khach|buyer|customer)\b", folded[k])
                   for k in range(max(0, i - 3), i)):
                continue  # the customer's address, not the shop's
            m = re.match(r"^(?:(?:dia chi|d/c|dc|đc)\s*[:.]?|(?:address|add)\s*[:.])\s*", f)
            if m and not lines[i].text[m.end():].strip() and (
                    i + 1 >= len(lines) or _TABLE_START.search(folded[i + 1])):
                continue  # a caption with nothing under it but the item table
            if m and len(re.sub(r"\W", "", lines[i].text[m.end():])) >= 3:
                tail = lines[i].text[m.end():]
                value, normalized, indices = _continue_lines(lines, folded, (i,), normalize_text(tail))
                return Candidate("address", value, normalized, 0.85 * lines[i].confidence, "rule", tuple(indices),
                                 {"anchor": True})
            if (m or _caption_alone(f, ("diachi",))) and i + 1 < len(lines) and not (
                    _PHONE_OR_META.search(folded[i + 1]) or folded[i + 1].rstrip(" .").endswith(":")):
                # "ĐỊA CHỈ:" misread ("DịA OI:") on a line of its own: the address is below it.
                value, normalized, indices = _continue_lines(lines, folded, (i + 1,), normalize_text(lines[i + 1].text))
                return Candidate("address", value, normalized, 0.75 * lines[i + 1].confidence, "rule",
                                 tuple(indices), {"anchor": True})
        seller = next((c for c in found if c.key == "seller"), None)
        beside = self._address_beside(lines, folded, seller)
        if beside is not None:
            return beside
        # Otherwise the lines right after the seller name, up to phone/tax/date lines.
        start = (max(seller.line_indices) + 1) if seller else 1
        prices = _price_lines(folded)
        picked = []
        for i in range(start, min(len(lines), start + 12)):
            f = folded[i]
            if picked and len(re.sub(r"\W", "", f)) <= 3 and (
                    _left(lines[i]) > _right(lines[picked[-1]]) or _right(lines[i]) < _left(lines[picked[-1]])):
                continue  # a mark in the margin beside the address ("4", "K"), not part of it
            stop = (_PHONE_OR_META.search(f) or _HEADER_NOISE.match(f) or parse_date(lines[i].text) is not None
                    or re.search(r"\d[.,]\d{2}\s*$", f) or re.fullmatch(r"[a-z]{0,3}[\d\s\-+()/.,:]{7,}", f)
                    or _priced_row(lines, i, prices))
            skip = (_REGISTRATION_LINE.search(f) or re.fullmatch(r"[\w\-() .]*\d+-[a-z]\)?", f)
                    or (_COMPANY_SUFFIX.search(f) and not re.search(r"\d", f))
                    or re.fullmatch(r"\(.*\)", f.strip()))  # "(TONYMOLY SHOP (95874))": the name's aside
            if _TABLE_START.search(f) or _PRICE_ONLY.fullmatch(f.strip()) or (re.search(r"\d{8,}", f) and not (
                    _PHONE_OR_META.search(f) or _REGISTRATION_LINE.search(f) or re.search(r"\bno\b", f)
                    or re.search(r"\d\s*-?\s*[a-z]\)?\s*$", f))):
                break  # the item table (header, price or barcode lines) starts: no address after it
            if not picked:
                # Before the address: registration numbers, name continuations, dates, phones,
                # and short codes ("A06103", "PAX1"): an address line has a word of 3+ letters.
                # A Vietnamese one opens with a number ("212", "Số 5", "Tầng 1") or holds an
                # address word (an item name such as "Bút bi 9269" holds digits too).
                has_number = (re.match(r"\W*(\d|(so|tang|toa|lo|kiot)\b)", f) if vietnamese
                              else re.search(r"[\d,]", f))
                if (stop or skip or not (has_number or _VI_ADDRESS_WORD.search(f))
                        or len(f) < 8 or not re.search(r"[a-z]{3,}|^(no|lot|unit|pt|blk|block)(\b|(?=\d))", f)):
                    continue
            elif stop or skip:
                break
            elif (any(_POSTCODE.search(folded[k]) for k in picked[-2:]) and not _REGION.fullmatch(f.strip(" .,'`\""))
                  and not (_POSTCODE.search(folded[picked[-1]]) and _town_before_region(folded, i))):
                # The postcode line ends an address, but for a trailing state / country, or a
                # town on its own line before one ("39100 BRINCHANG," "CAMERON HIGHLANDS," "PAHANG").
                break
            elif re.search(r"\b(malaysia|viet ?nam|darul [a-z]+)[ .,]*$", folded[picked[-1]]):
                break  # a country / state name ends it
            picked.append(i)
        if not picked:
            return None
        text = normalize_text(" ".join(lines[i].text for i in picked))
        text = re.sub(r"[\s,.]*\b(TAX ?INVOICE|INVOICE|RECEIPT)\s*$", "", text, flags=re.I) or text
        return Candidate("address", text, text, 0.6 * min(lines[i].confidence for i in picked), "rule",
                         tuple(picked), {"anchor": False})


    @staticmethod
    def _address_beside(lines, folded, seller):
        """A header printed in two columns (a chain's logo word on the left, the
        store and its address on the right, as on VinCommerce receipts): the
        lines right of the seller line that reach its height band, top to
        bottom, up to the phone / meta line. None when nothing is beside it."""
        if seller is None or len(seller.line_indices) != 1:
            return None
        name = lines[seller.line_indices[0]]
        top, bottom = _top(name), _bottom(name)
        height = bottom - top
        right = _right(name)
        column = [j for j, ln in enumerate(lines)
                  if j != seller.line_indices[0] and _left(ln) >= right - 0.1 * height
                  and _top(ln) < bottom + 0.5 * height and _bottom(ln) > top - 3 * height]
        if not column:
            return None
        # Lines of the column overlapping the logo's band, then the ones just below it.
        if not any(_bottom(lines[j]) > top and _top(lines[j]) < bottom for j in column):
            return None
        column.sort(key=lambda j: _top(lines[j]))
        picked = []
        for j in column:
            f = folded[j]
            if (_PHONE_OR_META.search(f) or _HEADER_NOISE.match(f) or re.fullmatch(r"[\d\s\-+().:/]{7,}", f)
                    or parse_date(lines[j].text) is not None):
                break
            picked.append(j)
        if len(re.sub(r"[^a-z]", "", " ".join(folded[j] for j in picked))) < 6:
            return None  # a mark or a number beside the name ("%"), not an address
        text = normalize_text(" ".join(lines[j].text for j in picked))
        return Candidate("address", text, text, 0.7 * min(lines[j].confidence for j in picked), "rule",
                         tuple(picked), {"anchor": False, "layout": "beside seller"})


def _same_block(lines, i, j) -> bool:
    """Lines i and j overlap horizontally (one printed above the other) or
    vertically (words of one row the detector split), i.e. not side by side in
    two columns of a header."""
    a, b = lines[i], lines[j]
    return min(_right(a), _right(b)) - max(_left(a), _left(b)) > 0 or _same_row(a, b)




# A postcode followed by the town at the end of a line ("81750 JOHOR BAHRU"): the address's last line
# (but for a trailing state or country, see _REGION).
# Item-table header words (folded): the header block ends above them.
# A value that is only the next caption (folded).
_CAPTION_ONLY = re.compile(r"(address|name|account( number| no\.?)?|phone|tel|e-?mail|date|dia chi|ho ten|ten|"
                           r"so dien thoai|adresse|nom|naam|adres|anschrift)\s*:?")
# A caption in front of the seller's name.
_SELLER_CAPTION = re.compile(r"^\s*(sold by|seller|vendor|supplier|from|don vi ban( hang)?|nguoi ban)\s*:\s*")  # folded
# Captions of the date a payment is due (not the document's date).
_DUE_DATE = re.compile(r"\b(due date|payment due|pay by|date limite|echeance|vervaldatum|uiterlijk|"
                       r"falligkeit\w*|zahlbar bis|termin platnosci|han thanh toan)\b")
# A line that is only a price ("43 000", "22.000d", "-3.000"): the item table has begun.
_PRICE_ONLY = re.compile(r"-?\d{1,3}(?:[ .,]\d{3})+\s*(?:d|vnd)?")
# A registration number after a name, with the branch code some chains print after it ("273500-U (KSB)").
_REGISTRATION = re.compile(r"\s*[\(\[]?\s*(co\.?\s*(reg|no)\.?\s*[:.]?\s*)?\d{3,}[\s-]*[A-Za-z]?\s*[\)\]]?"
                           r"(?:\s*\([A-Z0-9]{2,6}\))?\s*$", re.I)


def _name_continues(lines, folded, first, last, plausible) -> int:
    """The last line of a seller's name that starts at ``first`` and has
    reached ``last``: below it may come a bare legal suffix ("SDN BHD"), the
    rest of a name cut inside parentheses ("ENTERPRISE (SETIA" / "ALAM)SDN"),
    the company behind a shop's name ("LEMON TREE RESTAURANT" / "JTJ FOODS SDN
    BHD"), the rest of a name cut after "&" ("HOME MASTER HARDWARE &" / "ELECTRICAL"), the chain's name again ("Saigon Co.op" / "Co.op Food HN THE
    K-PARK"), or one word wrapped onto the next line ("... - CẨM" / "PHẢ")."""
    start = last
    while last + 1 < len(lines) and last + 1 < start + 4:
        k = last + 1
        if _split_word(lines, folded, k, last, before=False):
            last = k  # a word of the same printed line that the detector split off ("RIA")
            continue
        if _margin_mark(lines, folded, k, last) and k + 1 < len(lines):
            k += 1  # a mark beside the name ("%"): the name may go on past it; the caller leaves it out
        if not plausible(k):
            break
        name = " ".join(folded[m] for m in _name_lines(lines, folded, first, last, first))
        nxt = folded[k]
        words = nxt.split()
        if not (_SUFFIX_ONLY.fullmatch(nxt)
                or (folded[last].count("(") > folded[last].count(")") and len(words) <= 3)
                or (re.search(r"(&|\band)\s*$", folded[last]) and len(words) <= 3 and not re.search(r"\d", nxt))
                or (not _LEGAL_SUFFIX.search(name) and _LEGAL_SUFFIX.search(nxt) and len(words) <= 4
                    and not re.search(r"\d", nxt))
                or (_BRAND_RE.search(name) and _BRAND_RE.search(nxt) and not re.search(r"\d", nxt))
                or (len(words) == 1 and re.fullmatch(r"[^\W\d_]{2,8}", words[0]) and len(folded[last].split()) >= 3
                    and not re.fullmatch(r"total|cash|tax|gst|date|invoice|receipt|change|qty|amount|rm", words[0])
                    and _left(lines[last]) <= _left(lines[k]) and _right(lines[k]) <= _right(lines[last]))):
            break
        last = k
    return last


def _price_lines(folded: list[str]) -> list[int]:
    """Indices of the lines that are only a price ("43 000", "18.00")."""
    return [j for j, f in enumerate(folded)
            if _PRICE_ONLY.fullmatch(f.strip()) or re.fullmatch(r"-?\d+[.,]\d{2}", f.strip())]


def _priced_row(lines, i: int, prices: list[int]) -> bool:
    """Line ``i`` shares its row with a price (``prices``: :func:`_price_lines`;
    "WS CUT SCISSORS" ... "18.00"): an item of the table, not part of the header."""
    return any(j != i and _same_row(lines[i], lines[j]) for j in prices)


def _split_word(lines, folded, k: int, near: int, before: bool) -> bool:
    """Line ``k`` is a word of line ``near``'s printed line that the detector boxed
    apart: on the same row (vertical overlap over half the smaller height), just
    left of it (``before``) or just right of it, less than one line height away,
    and made of letters ("PERNIAGAAN RIANG" + "RIA", "FY" + "EAGLE ENTERPRISE")."""
    a, b = lines[k], lines[near]
    height = min(_bottom(a) - _top(a), _bottom(b) - _top(b))
    gap = _left(b) - _right(a) if before else _left(a) - _right(b)
    return (_same_row(a, b) and -0.5 * height <= gap <= height
            and bool(re.fullmatch(r"[^\W\d_]{2,}(?: [^\W\d_]+)*", folded[k].strip(" .,"))))


def _name_lines(lines, folded, first: int, last: int, keep: int) -> tuple[int, ...]:
    """Indices of a name's lines ``first``..``last`` without the margin marks
    (:func:`_margin_mark`) that :func:`_name_continues` looked past; lines up
    to ``keep`` are kept whatever they are."""
    return tuple(k for k in range(first, last + 1) if k <= keep or not _margin_mark(lines, folded, k, k - 1))


def _margin_mark(lines, folded, k: int, near: int) -> bool:
    """Line ``k`` is a mark of at most three letters or digits ("%", "4")
    printed apart beside line ``near``: on its row (vertical overlap), more
    than two line heights away to the side (a word of the same line that the
    detector split off, "SDN" / "BHD", is closer)."""
    a, b = lines[k], lines[near]
    gap = 2 * (_bottom(b) - _top(b))
    return (len(re.sub(r"\W", "", folded[k])) <= 3 and min(_bottom(a), _bottom(b)) > max(_top(a), _top(b))
            and (_left(a) > _right(b) + gap or _right(a) < _left(b) - gap))


_BRAND_RE = re.compile(r"\b(?:" + _BRANDS + r")\b")


def _caption_alone(folded_line: str, captions: tuple[str, ...]) -> bool:
    """The line is only a caption (ending in ``:``), one of ``captions``
    (letters only, folded) but for up to two misread letters: ``"dịa oi:"``
    is ``diachi``, ``"tên dị! l.ý:"`` is ``tendaily``."""
    text = folded_line.strip(" .")
    if not text.endswith(":") or len(text) > 24:
        return False
    from rapidfuzz.distance import Levenshtein

    letters = re.sub(r"[^a-z]", "", text)
    return any(Levenshtein.distance(letters, c, score_cutoff=2) <= 2 for c in captions if len(c) >= 6)


def _town_before_region(folded: list[str], i: int) -> bool:
    """Line ``i`` is a short place name (letters only, up to three words) and
    the next line is a state or country."""
    f = folded[i].strip(" .,'`\"")
    return (bool(re.fullmatch(r"[a-z][a-z .,]*", f)) and len(f.split()) <= 3 and i + 1 < len(folded)
            and bool(_REGION.fullmatch(folded[i + 1].strip(" .,'`\""))))


def _strip_registration(text: str) -> str:
    """Drop a trailing company registration number: ``"AEON CO. (M) BHD (126926-H)"`` -> ``"AEON CO. (M) BHD"``,
    and a leading seller caption: ``"Sold By : WS Retail"`` -> ``"WS Retail"``."""
    caption = _SELLER_CAPTION.match(fold(text))  # fold() keeps one character per character
    text = text[caption.end():] if caption and caption.end() < len(text) else text
    return _REGISTRATION.sub("", text).rstrip(" .,") or text


# Chains printed as a logo word, by their spelling on the receipt: a seller line that
# is one of these but for one misread letter ("VlnCommerce"; two in names of six
# letters or more: "VINNAT") is given this spelling.
_CHAIN_NAMES = ("VinCommerce", "VinMart", "Circle K", "FamilyMart", "Ministop", "GS25", "Bách Hóa Xanh")


def _canonical_seller(text: str) -> str:
    """``text`` without a trailing registration number; a chain name misread
    by one letter gets the chain's spelling."""
    from rapidfuzz.distance import Levenshtein

    text = _strip_registration(text.rstrip(" .,;:"))
    text = fix_name_digits(text)
    bare = re.sub(r"[^a-z0-9]", "", fold(text))
    for name in _CHAIN_NAMES:
        allowed = 2 if len(bare) >= 6 else 1
        if len(bare) >= 5 and Levenshtein.distance(bare, re.sub(r"[^a-z0-9]", "", fold(name)),
                                                   score_cutoff=allowed) <= allowed:
            return name
    return text.strip(" .,:;")


def _text_candidate(key, lines, indices, confidence, clean=None):
    text = normalize_text(" ".join(lines[i].text for i in indices))
    if clean is not None:
        text = clean(text)
    return Candidate(key, text, text, confidence * min(lines[i].confidence for i in indices), "rule", tuple(indices),
                     {"anchor": False})


def _currency_context(lines: list[TextLine], folded: list[str], vietnamese: bool) -> str | None:
    """Currency for amounts printed without one: MYR when the document prints RM,
    VND for đ/VND or Vietnamese text (``vietnamese``: :func:`app.classify.language.looks_vietnamese`),
    else the currency most lines name (``$``, ``EUR``, ``€``, ``Rs``, ... by
    :func:`app.extraction.normalize.detect_currency`), else None."""
    text = " ".join(folded)
    if re.search(r"\brm\s*\d|\bmyr\b|\brm\b", text):
        return "MYR"
    if re.search(r"\bvnd\b|\d\s*d\b|\bvnđ\b", text) or vietnamese:
        return "VND"
    named = Counter(code for code in (detect_currency(ln.text) for ln in lines) if code)
    return named.most_common(1)[0][0] if named else None


_ROUNDING = re.compile(r"\b(rounding|round adj)")


def _upright(ocr: OcrResult) -> list[TextLine]:
    """The OCR lines with boxes in the coordinates of the page as it reads
    upright (rows horizontal, top first), so layout rules hold on photos taken
    turned 90 or 180 degrees. The lines are in reading order (the engines sort
    them upright), so the page's top is where its first lines are. Only the
    geometry changes; candidates keep the line indices."""
    lines = list(ocr.lines)
    if len(lines) < 4:
        return lines
    width, height = ocr.width or 1, ocr.height or 1

    def centre(line):
        return sum(x for x, _ in line.box) / len(line.box), sum(y for _, y in line.box) / len(line.box)

    tall = sum(1 for ln in lines if _bottom(ln) - _top(ln) > 1.5 * (_right(ln) - _left(ln)))
    k = max(2, len(lines) // 5)
    head = [centre(ln) for ln in lines[:k]]
    tail = [centre(ln) for ln in lines[-k:]]
    if tall * 2 > len(lines):
        if sum(x for x, _ in head) < sum(x for x, _ in tail):  # top at the image's left
            turn = lambda x, y: (height - y, x)  # noqa: E731
        else:
            turn = lambda x, y: (y, width - x)  # noqa: E731
    elif sum(y for _, y in head) > sum(y for _, y in tail):  # upside down
        turn = lambda x, y: (width - x, height - y)  # noqa: E731
    else:
        return lines
    return [TextLine(ln.text, ln.confidence, tuple(turn(x, y) for x, y in ln.box)) for ln in lines]


def _next_lines(lines: list[TextLine], index: int, slopes: list[float] | None = None) -> list[int]:
    """Where a caption's value may be: lines to its right on the same visual
    row, nearest first, then the next two lines in reading order (indices).

    Same row: the other line's vertical extent overlaps the caption's by more
    than half the smaller height, with the caption's extent carried along the
    text slope around the caption (``slopes[index]``: dy/dx, from
    :func:`app.domain.local_text_angles`; level when None) to the other line's
    centre, so on a photo taken at a slant the value at the far right of "TOTAL"
    is still on its row (:meth:`RuleReader.read` passes them, measured once per page).
    """
    slope = slopes[index] if slopes else 0.0
    cap = lines[index]
    top, bottom = min(y for _, y in cap.box), max(y for _, y in cap.box)
    centre_x = sum(x for x, _ in cap.box) / 4
    right = _right(cap)
    row = []
    for j, other in enumerate(lines):
        if j == index:
            continue
        o_top, o_bottom = min(y for _, y in other.box), max(y for _, y in other.box)
        shift = slope * (sum(x for x, _ in other.box) / 4 - centre_x)
        overlap = min(bottom + shift, o_bottom) - max(top + shift, o_top)
        if overlap > 0.5 * min(bottom - top, o_bottom - o_top) and _left(other) >= right - 5:
            row.append((_left(other), j))
    out = [j for _, j in sorted(row)]
    for j in (index + 1, index + 2):
        if j < len(lines) and j not in out:
            out.append(j)
    return out


def _continue_lines(lines, folded, indices, value, most: int = 2):
    """Extend a multi-line text value (addresses) over up to ``most`` following
    lines of the same column that carry no caption of their own. Lines beside
    the column (a logo word such as "RUNA" left of the address) and short marks
    narrower than a third of the line above (a stamp's "Lep'") are passed over."""
    last = max(indices)
    parts = [value]
    idx = list(indices)
    j = last + 1
    while j < len(lines) and j <= last + 3 and len(idx) - len(indices) < most:
        f, above = folded[j], lines[idx[-1]]
        width = _right(above) - _left(above)
        beside = _right(lines[j]) <= _left(above) or _left(lines[j]) >= _right(above)  # another column
        if beside or (len(re.sub(r"\W", "", f)) <= 4 and _right(lines[j]) - _left(lines[j]) < width / 3):
            j += 1
            continue
        if ":" in lines[j].text or "/" in f[:25] or _PHONE_OR_META.search(f) or _DATE_HINT.search(lines[j].text):
            break
        if _left(lines[j]) > _left(above) + 0.5 * width or _TABLE_START.search(f) or _HEADER_NOISE.match(f):
            break
        parts.append(lines[j].text)
        idx.append(j)
        last = j
        j += 1
    text = normalize_text(" ".join(parts))
    return text, text, tuple(idx)


