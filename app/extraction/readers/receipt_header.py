"""The receipt header: the seller's name and address, read from the layout of the lines at
the top of a receipt (company-type words, captions, columns, the learned address line
model of :mod:`app.extraction.line_roles`), with the name's OCR misreadings repaired
(:mod:`app.extraction.repairs`).

Used by :class:`app.extraction.rules.RuleReader` for the ``seller`` and ``address`` fields;
``lines`` are the page's OCR lines upright (:func:`app.extraction.layout.upright`) and
``folded`` their folded texts (:func:`app.extraction.normalize.fold`), index for index.
"""

from __future__ import annotations

import re

from app.domain import Candidate
from app.domain import box_bottom as _bottom, box_left as _left, box_right as _right, box_top as _top
from app.domain import same_row as _same_row
from app.extraction.layout import continue_lines
from app.extraction.lexicon import (BRANDS as _BRANDS, COMPANY_SUFFIX as _COMPANY_SUFFIX, HEADER_NOISE as _HEADER_NOISE,
                                    PHONE_OR_META as _PHONE_OR_META, POSTCODE as _POSTCODE, REGION as _REGION,
                                    REGISTRATION_LINE as _REGISTRATION_LINE, TABLE_START as _TABLE_START)
from app.extraction.normalize import fold, normalize_text, parse_date
from app.extraction.repairs import fix_name_digits

# Vietnamese address words (folded).
_VI_ADDRESS_WORD = re.compile(r"\b(to|t|khu|p\.?|phuong|q\.?|quan|tp\.?|thanh pho|duong|xa|huyen|tinh|cho|ch|"
                              r"ngo|thon|so nha|kp|ap|ha noi|ninh|gia lam)\b")
_LEGAL_SUFFIX = re.compile(r"\b(sdn|bhd|berhad|s/b|enterprise|trading|plt|tnhh|co\.? ?ltd)\b")
_SUFFIX_ONLY = re.compile(r"[(\[]?m?[)\]]?\s*(sdn\.?|bhd\.?|berhad|sdn\.? ?bhd\.?)\s*")


def read_seller(lines, folded) -> Candidate | None:
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

def read_address(lines, folded, found, vietnamese: bool, model=None) -> Candidate | None:
    """The seller's address: the layout rules' candidate (:func:`_address_rules`),
    or, on a page that is not Vietnamese and prints no address caption, the
    lines the learned line-role model picks (:mod:`app.extraction.line_roles`),
    given the rules' seller and address lines as features, when it trusts its
    pick over the rules' by its ``rule_margin`` (:func:`~app.extraction.line_roles.choose_address`)."""
    cand = _address_rules(lines, folded, found, vietnamese)
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

def _address_rules(lines, folded, found, vietnamese: bool):
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
            value, normalized, indices = continue_lines(lines, folded, (i,), normalize_text(tail))
            return Candidate("address", value, normalized, 0.85 * lines[i].confidence, "rule", tuple(indices),
                             {"anchor": True})
        if (m or _caption_alone(f, ("diachi",))) and i + 1 < len(lines) and not (
                _PHONE_OR_META.search(folded[i + 1]) or folded[i + 1].rstrip(" .").endswith(":")):
            # "ĐỊA CHỈ:" misread ("DịA OI:") on a line of its own: the address is below it.
            value, normalized, indices = continue_lines(lines, folded, (i + 1,), normalize_text(lines[i + 1].text))
            return Candidate("address", value, normalized, 0.75 * lines[i + 1].confidence, "rule",
                             tuple(indices), {"anchor": True})
    seller = next((c for c in found if c.key == "seller"), None)
    beside = _address_beside(lines, folded, seller)
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
# A caption in front of the seller's name.
_SELLER_CAPTION = re.compile(r"^\s*(sold by|seller|vendor|supplier|from|don vi ban( hang)?|nguoi ban)\s*:\s*")  # folded
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
