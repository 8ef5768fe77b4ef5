"""Key–value reader for invoices and orders: captions and their values, found by geometry and vocabulary.

Not tied to one layout. Every line is scanned for captions of the multilingual
lexicon (:mod:`app.extraction.readers.kv_lexicon`, token boundaries on folded
text, longest caption first); a line may hold several ("Rechnung Nr. 471102 vom
05.06.2025" holds a number caption and a date caption). Each caption proposes
values, typed by its role:

* **same line**: the text after the caption up to the next caption;
* **right**: the nearest line on the same visual row to its right (a value column);
* **below**: the line under it in the same column (a grid of cells);
* **party block** (seller, buyer): the first name-like line of the caption's value
  or of the block under it (a ``Name:`` caption is stripped); with no seller
  caption, a letterhead line near the top holding a legal form (GmbH, Ltd, CÔNG TY).

Values are typed: a document number is one token with a digit, a date parses
(:func:`app.extraction.normalize.parse_date`), an amount parses and is not a
percentage, a tax identifier holds 8-15 digits. Candidates are scored by a
learned ranker (:mod:`app.extraction.readers.kv_ranker`: logistic regression over
the features of :func:`features`, trained by ``bench/train_kv_ranker.py``), and the
amounts are then chosen jointly: the subtotal, tax and total whose arithmetic
holds (subtotal + tax = total) win over higher-scored ones that disagree.

Coordinates: pixels of the stacked pages (``OcrResult`` of
:class:`app.pipeline.DocumentRead`), y down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from app.domain import Candidate, OcrResult
from app.extraction.currency import currency_of
from app.extraction.normalize import detect_currency, fold, normalize_text, parse_amount, parse_date
from app.extraction.readers.kv_lexicon import (ANY_DATE, CAPTIONS, COLUMN_ONLY, LEGAL_FORMS, ROLE_ALIASES, ROLE_FIELDS,
                                               SPECIFIC_ROLES, WEAK)

_CAPTION_RE = re.compile("|".join(r"(?<![0-9a-z_])" + re.escape(c) + (r"(?![0-9a-z_])" if c[-1].isalnum() else "")
                                  for c in CAPTIONS))
_SEPARATORS = " :;-–—.#|/\t"
_NUMBER_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/._]*")
_TAX_ID = re.compile(r"(?<![A-Za-z0-9])([A-Z]{0,3}[ ]?\d[\dA-Z \-./]{6,20}[\dA-Z])(?![A-Za-z0-9])")
_AMOUNT_TOKEN = re.compile(r"\d{1,3}(?:[.,\u00a0 ]\d{3})*[.,]\d{2}")  # "24.99": an amount, not a number
_PERCENT = re.compile(r"\d{1,2}(?:[.,]\d{1,2})?\s*%")
_AMOUNT_ROLES = ("subtotal", "tax", "total")
_PARTY_ROLES = ("seller", "buyer")
#: Roles the reader proposes values for (``other`` and unaliased kinds end values only).
ROLES = ("number", "date", "delivery_date", "seller", "buyer", "tax_id", "subtotal", "tax", "total")
#: Relations of a value to its caption (feature one-hot order).
RELATIONS = ("same", "right", "below", "block", "letterhead", "footer", "sender", "window")
#: Digits a company's name does not hold: an amount ("au capital de 10 000 €").
_AMOUNT_IN_NAME = re.compile(r"\d[\d\s.,]{2,}|[€$£]")
#: "For the attention of" before a party's name: "Attn:", "Attention:", "z. Hd.", "À l'attention de",
#: "t.a.v.", "A la atención de", "All'attenzione di".
_ATTENTION = re.compile(r"^\s*(?:attn\.?|attention|z\.\s?hd\.?|à l'attention de|a l'attention de|t\.a\.v\.?"
                        r"|a la atención de|all'attenzione di)\s*:?\s*", re.IGNORECASE)
#: A line wholly in parentheses: a note, not a name.
_NOTE = re.compile(r"\s*\(.*\)\s*")
#: The issuer's own line: "Name GmbH · Street 1 · 10115 Berlin · USt-IdNr. DE…",
#: "QualityHosting AG - Uferweg 40-42 - D-63571 Gelnhausen".
_SENDER_PARTS = re.compile(r"\s*[·|•]\s*|\s+[-–]\s+")


@dataclass(frozen=True)
class _Line:
    index: int
    text: str
    folded: str
    x0: float
    y0: float
    x1: float
    y1: float
    page: int | None = None

    @property
    def height(self) -> float:
        return max(self.y1 - self.y0, 1.0)


@dataclass(frozen=True)
class _Caption:
    line: int  # position in the reader's line list
    role: str
    phrase: str
    start: int
    end: int
    value_end: int  # where the next caption on the line starts
    specific: bool = False  # a caption naming the document's own kind ("Invoice No", not "No.")


@dataclass
class KvCandidate:
    """One proposed value of one role, before ranking.

    Attributes:
        role: lexicon role (``number``, ``date``, ``seller``, ...).
        value: the value as printed.
        normalized: ISO date, ``{"amount", "currency"}``, or the text.
        lines: OCR line indices the value (and its caption) were read from.
        value_lines: the lines of the value alone.
        features: name -> number (see :func:`features`).
        score: ranker probability in [0, 1] (set by :func:`rank`).
    """

    role: str
    value: str
    normalized: object
    lines: tuple[int, ...]
    value_lines: tuple[int, ...]
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0


def _lines(ocr: OcrResult) -> list[_Line]:
    out = []
    for i, ln in enumerate(ocr.lines):
        xs, ys = [p[0] for p in ln.box], [p[1] for p in ln.box]
        text = normalize_text(ln.text)
        out.append(_Line(i, text, fold(text), min(xs), min(ys), max(xs), max(ys), ln.page))
    return out


def _captions(line: _Line, pos: int, aliases: dict[str, str] | None = None) -> list[_Caption]:
    """The captions on ``line``; ``aliases`` (:data:`ROLE_ALIASES` of the document
    type) renames roles, and a role with no alias that is not a field role of
    every type (``invoice_number``) stays as found."""
    found = [(m.start(), m.end(), m.group(0)) for m in _CAPTION_RE.finditer(line.folded)
             if not (m.group(0) in COLUMN_ONLY and re.search(r"[^\W\d_]\W{0,2}$", line.folded[:m.start()]))]
    out = []
    for k, (start, end, phrase) in enumerate(found):
        value_end = found[k + 1][0] if k + 1 < len(found) else len(line.text)
        role = CAPTIONS[phrase]
        if phrase in WEAK and out and out[-1].role == "other":
            role = "other"  # "Prélèvement à partir du": a common word after a caption of another value
        out.append(_Caption(pos, (aliases or {}).get(role, role), phrase, start, end, value_end,
                            role in SPECIFIC_ROLES))
    return out


def _same_row(a: _Line, b: _Line) -> bool:
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap > 0.5 * min(a.height, b.height)


_DOT_GROUPS = re.compile(r"(?<![\d.,])\d{1,3}(?:\.\d{3}){2,}(?![\d,])|(?<![\d.,])\d{1,3}(?:\.\d{3})+,\d{1,2}(?!\d)")
_COMMA_DECIMAL = re.compile(r"(?<![\d,])\d+,\d{2}(?![\d,])")
_POINT_DECIMAL = re.compile(r"(?<![\d.])\d+\.\d{2}(?![\d.])")


def number_style(texts: list[str]) -> str | None:
    """How the document writes its amounts, from its unambiguous numbers.

    Returns:
        A currency whose separator rules :func:`~app.extraction.normalize.parse_amount`
        applies: ``"VND"`` (``1.234.567``: dots group thousands, no minor units),
        ``"EUR"`` (``1.234,56`` or ``12,50``: comma decimals), ``None`` (point
        decimals, or nothing to tell). Used to read ``716.880`` as 716880 on a page
        that prints ``9.677.880``; the currency reported is still the printed one.
    """
    joined = "\n".join(texts)
    dot_groups = bool(_DOT_GROUPS.search(joined))
    comma_dec = len(_COMMA_DECIMAL.findall(joined))
    point_dec = len(_POINT_DECIMAL.findall(joined))
    if comma_dec > point_dec:
        return "EUR"
    if dot_groups and point_dec == 0:
        return "VND"
    return None


def _typed(role: str, text: str, style: str | None = None) -> tuple[str, object] | None:
    """The value of ``role`` in ``text`` (as printed, normalised), or None; amounts
    are read with the document's :func:`number_style`."""
    # A name keeps its closing full stop ("Inc."); other values lose it.
    text = text.lstrip(_SEPARATORS + "()").rstrip((_SEPARATORS.replace(".", "") + ",") if role in _PARTY_ROLES
                                                   else _SEPARATORS + "()")
    if not text:
        return None
    if role == "number":
        for m in _NUMBER_TOKEN.finditer(text):
            token = m.group(0).rstrip("._-/")
            if (re.search(r"\d", token) and len(token) <= 30 and parse_date(token) is None
                    and not _AMOUNT_TOKEN.fullmatch(token)):
                return token, token
        return None
    if role in ("date", "delivery_date"):
        d = parse_date(text)
        return (text[:40], d.isoformat()) if d is not None else None
    if role in _AMOUNT_ROLES:
        rest = _PERCENT.sub(" ", text)
        if not re.search(r"\d", rest):
            return None
        if parse_date(rest) is not None and not re.search(r"\d[.,]\d{2}(?!\d)", rest):
            return None  # "August 3, 2014" is a date, not the amount 2014
        parsed = parse_amount(rest, style)
        if parsed is None:
            return None
        currency = detect_currency(rest)
        return rest.strip(_SEPARATORS), {"amount": f"{abs(parsed[0]):f}", "currency": currency}
    if role == "tax_id":
        m = _TAX_ID.search(text.upper())
        if m is None:
            return None
        value = m.group(1).strip()
        digits = sum(c.isdigit() for c in value)
        return (value, value.replace(" ", "")) if 8 <= digits <= 15 else None
    if role in _PARTY_ROLES:
        text = _ATTENTION.sub("", text)  # "ATTN: iViveLabs Limited": the party, not the word
        if not re.search(r"[^\W\d_]{2,}", text) or len(text) > 120:
            return None
        return text, text
    return None


def _name_like(line: _Line) -> bool:
    letters = sum(c.isalpha() for c in line.text)
    return letters >= 3 and letters >= 0.5 * len(line.text.replace(" ", ""))


def _strip_name_caption(line: _Line) -> str:
    caps = _captions(line, 0, ANY_DATE)
    if caps and caps[0].start == 0 and caps[0].role not in ROLES:
        return line.text[caps[0].end:].strip(_SEPARATORS)
    return line.text


def _proper_name(text: str) -> bool:
    """A name as printed, not a sentence: at least 60 % of its words hold a capital
    ("Amazon Web Services, Inc.", "iViveLabs Limited", "CÔNG TY AN KHANG"), or 40 % beside
    a legal form ("Société générale de services SA")."""
    ws = re.findall(r"[^\W\d_]+", text)
    if not ws:
        return False
    share = sum(any(ch.isupper() for ch in w) for w in ws) / len(ws)
    return share >= 0.6 or (share >= 0.4 and _has_legal_form(fold(text)))


def _has_legal_form(folded: str) -> bool:
    return any(re.search(r"(?<![a-z])" + re.escape(f) + r"(?![a-z])", folded) for f in LEGAL_FORMS)


def candidates(ocr: OcrResult, document_type: str = "invoice", lines: list[_Line] | None = None) -> list[KvCandidate]:
    """Every caption's typed values in ``ocr`` (unranked), with their features;
    number captions read as ``document_type``'s (:data:`ROLE_ALIASES`); ``lines``: the
    reader's view of ``ocr.lines`` when the caller has it."""
    aliases = ROLE_ALIASES.get(document_type, {})
    lines = _lines(ocr) if lines is None else lines
    if not lines:
        return []
    page_h = max(ln.y1 for ln in lines) or 1.0
    page_w = max(ln.x1 for ln in lines) or 1.0
    style = number_style([ln.text for ln in lines])
    caps_by_line = [_captions(ln, pos, aliases) for pos, ln in enumerate(lines)]
    caption_lines = {pos for pos, caps in enumerate(caps_by_line) if caps}
    out: list[KvCandidate] = []

    def add(cap: _Caption, relation: str, value_pos: tuple[int, ...], text: str, distance: float) -> None:
        if cap.role in _PARTY_ROLES and cap.phrase in WEAK and not _proper_name(text):
            return  # "Greetings from Amazon Web Services, we're writing to ...": a sentence, not a party
        typed = _typed(cap.role, text, style)
        if typed is None:
            return
        value, normalized = typed
        line = lines[cap.line]
        f = {
            "bias": 1.0,
            "caption_len": min(len(cap.phrase), 30) / 30.0,
            "weak": float(cap.phrase in WEAK),
            "at_start": float(cap.start == 0),
            "distance": min(distance, 10.0) / 10.0,
            "y": line.y0 / page_h,
            "x": line.x0 / page_w,
            "value_has_caption": float(any(p in caption_lines and p != cap.line for p in value_pos)),
            "colon": float(":" in line.text[cap.end:cap.end + 3]),
            "specific": float(cap.specific),
        }
        for r in RELATIONS:
            f["rel_" + r] = float(relation == r)
        out.append(KvCandidate(cap.role, value, normalized,
                               tuple(sorted({line.index, *(lines[p].index for p in value_pos)})),
                               tuple(lines[p].index for p in value_pos), f))

    for pos, caps in enumerate(caps_by_line):
        line = lines[pos]
        for cap in caps:
            if cap.role not in ROLES:
                continue
            # same line: after the caption, up to the next caption (for a party name, up to
            # the next field caption or "Caption:", since names hold words like "Services")
            end = cap.value_end
            if cap.role in _PARTY_ROLES:
                end = next((o.start for o in caps if o.start >= cap.end and
                            (o.role in ROLES or ":" in line.text[o.end:o.end + 2])), len(line.text))
            rest = line.text[cap.end:end]
            if rest.strip(_SEPARATORS):
                add(cap, "same", (pos,), rest, 0.0)
                if cap.role == "number" and (token := _typed("number", rest)) is not None:
                    # "Invoice No. 123 / 4 Oct 2024": a date printed after the number, without a caption
                    after = rest[rest.find(token[0]) + len(token[0]):]
                    if parse_date(after) is not None:
                        add(_Caption(pos, "date", "", cap.end, cap.end, cap.value_end), "same", (pos,), after, 0.0)
                if cap.role in _PARTY_ROLES:
                    continue
            if cap.value_end < len(line.text) and cap.role not in _PARTY_ROLES:
                continue  # another caption follows on the line: the value is between them or absent
            # right: nearest line on the same row
            right = [(o.x0 - line.x1, p) for p, o in enumerate(lines)
                     if p != pos and _same_row(o, line) and o.x0 >= line.x1 - 2]
            if right:
                gap, p = min(right)
                add(cap, "right", (p,), _strip_name_caption(lines[p]), gap / line.height)
            # below: the next line down overlapping the caption's column
            below = sorted((o.y0 - line.y1, p) for p, o in enumerate(lines)
                           if o.page == line.page  # a caption at a page's foot names nothing on the next
                           and o.y0 >= line.y1 - 0.3 * line.height and o.y0 - line.y1 < 3.5 * line.height
                           and min(o.x1, line.x1) - max(o.x0, line.x0) > 0 and abs(o.x0 - line.x0) < 4 * line.height)
            if not below:
                continue
            gap, p = below[0]
            if cap.role in _PARTY_ROLES:
                # the block: the first line under the caption with a legal form, else the first
                # name-like one; a note in parentheses ("(Not to be used for payment remittance)") is none
                block = [(gap, p, _strip_name_caption(lines[p])) for gap, p in below[:4]
                         if _name_like(lines[p]) and not _NOTE.fullmatch(lines[p].text)]
                block = [b for b in block if b[2]]
                pick = next((b for b in block if _has_legal_form(lines[b[1]].folded)), block[0] if block else None)
                if pick is not None:
                    add(cap, "block", (pick[1],), pick[2], pick[0] / line.height)
            else:
                add(cap, "below", (p,), lines[p].text, gap / line.height)

    # Letterhead: a name-like line with a legal form in the top quarter, no caption on it.
    for pos, line in enumerate(lines):
        if line.y0 > 0.3 * page_h:
            break
        if pos not in caption_lines and _name_like(line) and _has_legal_form(line.folded):
            cap = _Caption(pos, "seller", "", 0, 0, 0)
            add(cap, "letterhead", (pos,), line.text, 0.0)
    _relative_features(out)
    return out


def _relative_features(cands: list[KvCandidate]) -> None:
    """Features that compare a candidate with the others of its role."""
    by_role: dict[str, list[KvCandidate]] = {}
    for c in cands:
        by_role.setdefault(c.role, []).append(c)
    for role, group in by_role.items():
        ys = [c.features["y"] for c in group]
        for c in group:
            c.features["first_of_role"] = float(c.features["y"] == min(ys))
            c.features["last_of_role"] = float(c.features["y"] == max(ys))
            c.features["n_role"] = min(len(group), 10) / 10.0
        if role in _AMOUNT_ROLES:
            values = [Decimal(c.normalized["amount"]) for c in group]
            top = max(values)
            for c, v in zip(group, values):
                c.features["is_max"] = float(v == top)
    all_amounts = [Decimal(c.normalized["amount"]) for c in cands if c.role in _AMOUNT_ROLES]
    if all_amounts:
        top = max(all_amounts)
        for c in cands:
            if c.role in _AMOUNT_ROLES:
                c.features["is_doc_max"] = float(Decimal(c.normalized["amount"]) == top)


def features(cand: KvCandidate) -> dict[str, float]:
    """The ranker's input for one candidate: its features plus the role one-hot
    (``role_<name>``) and role x relation crosses, as a name -> value dict."""
    f = dict(cand.features)
    f["role_" + cand.role] = 1.0
    for r in RELATIONS:
        if f.get("rel_" + r):
            f[f"{cand.role}_x_{r}"] = 1.0
    for name in ("weak", "caption_len", "y", "last_of_role", "first_of_role", "is_max", "is_doc_max", "x"):
        if name in cand.features:
            f[f"{cand.role}_x_{name}"] = cand.features[name]
    return f


_PRINTED_AMOUNT = re.compile(r"(?<![\d.,])\d{1,3}(?:[.,\u00a0 ]?\d{3})*[.,]\d{2}(?![\d])")


def printed_amounts(lines: list[_Line], style: str | None = None) -> frozenset[Decimal]:
    """Every amount with two decimals printed on the page (a line item's price, a net
    amount under no caption), read with the document's :func:`number_style`."""
    out = set()
    for ln in lines:
        for m in _PRINTED_AMOUNT.finditer(ln.text):
            parsed = parse_amount(m.group(0), style)
            if parsed is not None and parsed[0] > 0:
                out.add(abs(parsed[0]))
    return frozenset(out)


def _best_amounts(by_role: dict[str, list[KvCandidate]], bonus: float = 0.6,
                  top: int = 4, printed: frozenset[Decimal] = frozenset()) -> dict[str, KvCandidate]:
    """The subtotal, tax and total maximising score sum + ``bonus`` when subtotal +
    tax = total (within one cent / 0.1 %) — the arithmetic as evidence. With no subtotal
    read, a total whose difference with the tax is printed elsewhere on the page (the net
    amount under no caption, or the one item's price) gets ``bonus``."""
    pools = {r: sorted(by_role.get(r, []), key=lambda c: -c.score)[:top] for r in _AMOUNT_ROLES}
    best, best_value = {}, -1.0
    subs = pools["subtotal"] or [None]
    taxes = pools["tax"] or [None]
    totals = pools["total"] or [None]
    for s in subs:
        for t in taxes:
            for g in totals:
                value = sum(c.score for c in (s, t, g) if c is not None)
                if s is not None and g is not None:
                    sv, gv = Decimal(s.normalized["amount"]), Decimal(g.normalized["amount"])
                    tv = Decimal(t.normalized["amount"]) if t is not None else Decimal(0)
                    if abs(sv + tv - gv) <= max(Decimal("0.011"), gv * Decimal("0.001")) and sv != gv:
                        value += bonus * (2 if t is not None else 1)
                    elif sv > gv or (sv == gv and tv > 0):
                        value -= bonus  # a net amount above the gross, or equal to it beside a tax: impossible
                elif s is None and t is not None and g is not None and printed:
                    gv, tv = Decimal(g.normalized["amount"]), Decimal(t.normalized["amount"])
                    if gv > tv > 0 and gv - tv in printed:
                        value += bonus
                if value > best_value:
                    best_value, best = value, {r: c for r, c in zip(_AMOUNT_ROLES, (s, t, g)) if c is not None}
    return best


def read_key_values(ocr: OcrResult, document_type: str, ranker=None, threshold: float = 0.2) -> list[Candidate]:
    """The header fields of an invoice or order.

    Args:
        ocr: the document's lines (stacked pages).
        document_type: ``invoice``, ``purchase_order`` or ``sales_order``
            (:data:`~app.extraction.readers.kv_lexicon.ROLE_FIELDS`).
        ranker: a :class:`~app.extraction.readers.kv_ranker.Ranker` (default: the
            shipped model).
        threshold: candidates scored below it are not proposed.

    Returns:
        At most one candidate per field, ``source="rule"``, confidence = ranker
        probability x mean OCR confidence of its lines, ``checks``:
        ``{"reader": "keyvalue", "relation": same/right/below/block/letterhead/footer/sender/window}``
        (plus ``"arithmetic_choice": True`` for amounts whose chosen subtotal + tax
        equals the chosen total). Amounts printed without a currency get the one the
        document names most often.
    """
    from app.extraction.readers.kv_ranker import default_ranker

    roles = ROLE_FIELDS.get(document_type)
    if not roles:
        return []
    ranker = ranker or default_ranker()
    lines = _lines(ocr)
    cands = [c for c in candidates(ocr, document_type, lines) if c.role in roles]
    for c in cands:
        c.score = ranker.score(features(c))
    by_role: dict[str, list[KvCandidate]] = {}
    for c in cands:
        by_role.setdefault(c.role, []).append(c)
    chosen = {role: max(group, key=lambda c: c.score) for role, group in by_role.items()
              if role not in _AMOUNT_ROLES}
    buyer = chosen.get("buyer")
    if buyer is not None and "seller" in chosen and set(chosen["seller"].value_lines) & set(buyer.value_lines):
        # One line is not both parties: the captioned buyer keeps it, the seller is the next best.
        others = [c for c in by_role["seller"] if not set(c.value_lines) & set(buyer.value_lines)]
        if others:
            # ranked again among themselves (which is first or last of its role changed)
            _relative_features(others)
            for c in others:
                c.score = ranker.score(features(c))
            chosen["seller"] = max(others, key=lambda c: c.score)
        else:
            del chosen["seller"]
    if "seller" in roles:
        _address_window(chosen, lines, roles)
    amounts = _best_amounts(by_role, printed=printed_amounts(lines, number_style([ln.text for ln in lines])))
    chosen.update(amounts)
    arithmetic = _consistent(amounts)
    currency = currency_of(ocr)
    out = []
    for role, c in chosen.items():
        if c.score < threshold:
            continue
        ocr_conf = sum(ocr.lines[i].confidence for i in c.value_lines) / max(len(c.value_lines), 1)
        relation = next(r for r in RELATIONS if c.features.get("rel_" + r))
        checks = {"reader": "keyvalue", "relation": relation}
        normalized = c.normalized
        if role in _AMOUNT_ROLES:
            if arithmetic:
                checks["arithmetic_choice"] = True
            if normalized.get("currency") is None and currency is not None:
                normalized = {**normalized, "currency": currency}
        out.append(Candidate(roles[role], c.value, normalized, round(c.score * ocr_conf, 4), "rule",
                             c.value_lines, checks))
    return out


def _sender_line(lines: list[_Line]) -> tuple[_Line, str, _Line | None] | None:
    """The issuer's own line of a letter: a line cut by ``·``, ``|``, ``•`` or spaced dashes into
    three parts or more (name, street, city, tax id) whose first part is a name with a legal
    form, either in the bottom 15 % of the document (the footer) or right above a name-like line
    (the return address printed over the recipient's window, DIN 5008).

    Returns:
        ``(line, issuer's name, the recipient's first line or None for a footer)``, or None.
    """
    if not lines:
        return None
    page_h = max(ln.y1 for ln in lines) or 1.0
    for pos, line in enumerate(lines):
        parts = _SENDER_PARTS.split(line.text)
        name = parts[0].strip()
        if len(parts) < 3 or not 3 <= len(name) <= 80 or not _has_legal_form(fold(name)) \
                or sum(c.isalpha() for c in name) < 3 or _AMOUNT_IN_NAME.search(name):
            continue  # "SARL au capital de 10 000 €": the company's capital, not its name
        if line.y0 >= 0.85 * page_h:
            return line, name, None
        under = [o for o in lines[pos + 1:pos + 3] if o.page == line.page and 0 <= o.y0 - line.y1 < 8 * line.height
                 and abs(o.x0 - line.x0) < 2 * line.height]
        if under and _name_like(under[0]) and not _captions(under[0], 0):
            return line, name, under[0]
    return None


def _bare_name(name: str) -> str:
    """A company name folded, without its legal form words (which most names share)."""
    folded = fold(name)
    for form in sorted(LEGAL_FORMS, key=len, reverse=True):
        folded = re.sub(r"(?<![a-z])" + re.escape(form) + r"(?![a-z])", " ", folded)
    return " ".join(folded.split())


def _address_window(chosen: dict[str, KvCandidate], lines: list[_Line], roles: dict) -> None:
    """A letter's layout (DIN 5008 and its kin): the recipient's address in a window at the top
    and the issuer on a line of its own (:func:`_sender_line`), in the footer or as the return
    address over the window. That line's company is the seller unless a captioned seller
    stands (``relation: footer`` / ``sender``); with no captioned buyer, the recipient is the
    buyer (``relation: window``): the line under a return address, or, for a footer, the
    letterhead line when it names another company."""
    from rapidfuzz import fuzz

    seller = chosen.get("seller")
    if seller is not None and not seller.features.get("rel_letterhead"):
        return  # a captioned seller stands
    found = _sender_line(lines)
    if found is None:
        return
    line, name, window = found
    same = seller is not None and fuzz.ratio(_bare_name(name), _bare_name(seller.value)) >= 85
    score = max(seller.score if seller is not None else 0.0, 0.5)
    if "buyer" in roles and "buyer" not in chosen:
        if window is not None:
            chosen["buyer"] = KvCandidate("buyer", window.text, window.text, (window.index,), (window.index,),
                                          {"rel_window": 1.0}, score)
        elif seller is not None and not same:
            chosen["buyer"] = KvCandidate("buyer", seller.value, seller.normalized, seller.lines,
                                          seller.value_lines, {"rel_window": 1.0}, seller.score)
    if same and line.index not in seller.value_lines:
        return  # the same company at the top and on its own line: the letterhead stands
    relation = "rel_footer" if window is None else "rel_sender"
    chosen["seller"] = KvCandidate("seller", name, name, (line.index,), (line.index,), {relation: 1.0}, score)


def _consistent(amounts: dict[str, KvCandidate]) -> bool:
    """Whether the chosen subtotal (+ tax) equals the chosen total (the joint choice held)."""
    if "subtotal" not in amounts or "total" not in amounts:
        return False
    s, g = (Decimal(amounts[r].normalized["amount"]) for r in ("subtotal", "total"))
    t = Decimal(amounts["tax"].normalized["amount"]) if "tax" in amounts else Decimal(0)
    return s != g and abs(s + t - g) <= max(Decimal("0.011"), g * Decimal("0.001"))
