"""A learned line-role classifier for receipt headers: which lines are the seller's address.

The rule reader (:func:`app.extraction.readers.receipt_header.read_address`) proposes an
address by layout rules; this model looks at every line of the header (the
first :data:`HEADER_LINES` lines) and scores how likely each one belongs to the
address, from the line's own text and geometry, its neighbours', and what the
rules picked (the seller's lines and the rule address's lines are features, so
the model learns where to trust them). The address is the run of consecutive
lines whose log-odds sum highest (lines inside it scored below 0.5, a margin
mark, are left out). Text features are computed on each line's text up to its
first comma, as the training transcripts show it.

The model is a small gradient-boosted tree ensemble trained with LightGBM by
``bench/train_address_lines.py`` on the SROIE organisers' transcripts and the
100 old SROIE images (never the 150 new ones or their transcripts), and stored
as plain JSON (:data:`DEFAULT_MODEL`, its SHA-256 in the file's ``sha256`` of
the trees); predicting needs no LightGBM, only this module.

It is trained on Malaysian (English/Malay) receipts only, so the rule reader
uses it only on pages that are not Vietnamese and whose address has no printed
caption, and there only where it is surer of its own pick than of the rules'
address by the file's ``rule_margin`` (:func:`choose_address`; the one number
fitted on the tune half of the 150 new images, their other half kept for the
report).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from pathlib import Path

from app.domain import TextLine
from app.domain import box_bottom as _bottom, box_left as _left, box_right as _right, box_top as _top
from app.extraction.lexicon import (COMPANY_SUFFIX as _COMPANY_SUFFIX, DATE_HINT as _DATE_HINT,
                                    HEADER_NOISE as _HEADER_NOISE, MY_ADDRESS_WORDS as _MY_ADDRESS_WORDS,
                                    PHONE_OR_META as _PHONE_OR_META, POSTCODE as _POSTCODE, REGION as _REGION,
                                    REGISTRATION_LINE as _REGISTRATION_LINE, TABLE_START as _TABLE_START)
from app.errors import EngineUnavailable

#: How many lines from the top of a receipt the model looks at.
HEADER_LINES = 25
#: The committed model (JSON, written by ``bench/train_address_lines.py``).
DEFAULT_MODEL = Path(__file__).with_name("models") / "address_lines.json"

#: Words of Malaysian street addresses beyond the rule reader's place words (upper case).
_STREET_WORDS = frozenset("""
JLN JL JALAN LORONG LRG TMN TAMAN KG KAMPUNG BDR BANDAR SEK SEKSYEN BLK BLOK BLOCK LOT NO UNIT LEVEL LVL FLOOR
TINGKAT ARAS GROUND KM BATU ROAD RD STREET ST AVENUE AVE LANE PERSIARAN PSN LEBUH LEBUHRAYA JALAN2 PJU PJS SS USJ
INDUSTRIAL PARK CENTRE CENTER SQUARE MALL HIGHWAY OFF WISMA MENARA PLAZA KOMPLEKS BANGUNAN KAWASAN PERINDUSTRIAN
""".split())


# A postcode before a town anywhere in the line ("43000 KAJANG, SELANGOR"), folded.
_POSTCODE_TOWN = re.compile(r"(?<![\w-])\d{5}\s*,?\s+[a-z]{3,}")


def _num(flag) -> float:
    return 1.0 if flag else 0.0


def line_features(lines: list[TextLine], folded: list[str], seller: tuple[int, ...],
                  rule_address: tuple[int, ...], anchored: bool) -> list[list[float]]:
    """One feature vector per header line (``min(len(lines), HEADER_LINES)`` rows).

    Args:
        lines: the page's OCR lines, upright (:func:`app.extraction.layout.upright`), in reading order.
        folded: ``fold(line.text)`` for each line.
        seller: indices of the lines the rule reader read the seller from (empty: none).
        rule_address: indices of the rule reader's address lines (empty: none).
        anchored: the rule address was read after a printed caption.

    Returns:
        Rows of :data:`FEATURES` values (floats; geometry in page fractions).
    """

    n = min(len(lines), HEADER_LINES)
    if n == 0:
        return []
    page_left = min(_left(ln) for ln in lines[:n])
    page_right = max(_right(ln) for ln in lines[:n])
    page_top = min(_top(ln) for ln in lines)
    page_bottom = max(_bottom(ln) for ln in lines)
    width = max(page_right - page_left, 1.0)
    height = max(page_bottom - page_top, 1.0)
    heights = sorted(_bottom(ln) - _top(ln) for ln in lines[:n])
    median_h = max(heights[len(heights) // 2], 1.0)
    seller_last = max(seller) if seller else -1
    place = _MY_ADDRESS_WORDS | _STREET_WORDS

    base = []
    for k in range(n):
        # Each line's text up to its first comma: the training transcripts hold only that
        # (their CSV was split on commas), so the model sees the same on OCR lines.
        text, f = lines[k].text.split(",", 1)[0], folded[k].split(",", 1)[0]
        tokens = re.findall(r"[a-z0-9]+", f)
        upper = [t.upper() for t in tokens]
        letters = sum(c.isalpha() for c in text)
        digits = sum(c.isdigit() for c in text)
        chars = max(len(text.strip()), 1)
        places = sum(1 for t in upper if t in place)
        base.append({
            "place_words": float(places),
            "place_share": places / max(len(tokens), 1),
            "postcode": _num(_POSTCODE.search(f) or _POSTCODE_TOWN.search(f)),
            "five_digits": _num(re.search(r"(?<!\d)\d{5}(?!\d)", f)),
            "region": _num(_REGION.search(f)),
            "phone_meta": _num(_PHONE_OR_META.search(f)),
            "company": _num(_COMPANY_SUFFIX.search(f)),
            "registration": _num(_REGISTRATION_LINE.search(f) or re.search(r"\d{4,}-[a-z]\b", f)),
            "noise": _num(_HEADER_NOISE.match(f.strip(" .,:*-"))),
            "date": _num(_DATE_HINT.search(text)),
            "table": _num(_TABLE_START.search(f)),
            "price_end": _num(re.search(r"\d[.,]\d{2}\s*$", f)),
            "phone_digits": _num(re.search(r"\d{2,4}\s*-\s*\d{3,4}\s*\d{3,4}|\d{9,}", f)),
            "starts_number": _num(re.match(r"\W*(\d|(no|lot|unit|blk|block|level|lvl)\b)", f)),
            "ends_stop": _num(text.rstrip().endswith(".")),
            "letters": letters / chars,
            "digits": digits / chars,
            "length": float(min(chars, 80)),
            "words": float(min(len(tokens), 15)),
            "upper": _num(text == text.upper()),
            "colon": _num(":" in text),
            "left": (_left(lines[k]) - page_left) / width,
            "right": (page_right - _right(lines[k])) / width,
            "width": (_right(lines[k]) - _left(lines[k])) / width,
            "centre": abs((_left(lines[k]) + _right(lines[k])) / 2 - (page_left + page_right) / 2) / width,
            "top": (_top(lines[k]) - page_top) / height,
            "line_height": (_bottom(lines[k]) - _top(lines[k])) / median_h,
            "seller": _num(k in seller),
            "rule": _num(k in rule_address),
        })
    rows = []
    postcode_above = phone_above = 0.0
    for k in range(n):
        b = base[k]
        prev = base[k - 1] if k > 0 else None
        nxt = base[k + 1] if k + 1 < n else None
        row = [float(k), float(k - seller_last) if seller_last >= 0 else 99.0, _num(anchored)]
        row += [b[name] for name in _BASE]
        for other in (prev, nxt):
            row += [other[name] if other else -1.0 for name in _CONTEXT]
        row += [postcode_above, phone_above]
        rows.append(row)
        postcode_above = max(postcode_above, b["postcode"])
        phone_above = max(phone_above, b["phone_meta"] * (1 - b["seller"]))
    return rows


_BASE = ("place_words", "place_share", "postcode", "five_digits", "region", "phone_meta", "company",
         "registration", "noise", "date", "table", "price_end", "phone_digits", "starts_number", "ends_stop",
         "letters", "digits", "length", "words", "upper", "colon", "left", "right", "width",
         "centre", "top", "line_height", "seller", "rule")
_CONTEXT = ("place_words", "postcode", "region", "phone_meta", "company", "registration", "rule", "seller",
            "digits", "left", "width")
#: Names of the columns :func:`line_features` returns, in order.
FEATURES: tuple[str, ...] = (("index", "after_seller", "anchored") + _BASE
                             + tuple(f"prev_{c}" for c in _CONTEXT) + tuple(f"next_{c}" for c in _CONTEXT)
                             + ("postcode_above", "phone_above"))


class TreeEnsemble:
    """A binary gradient-boosted tree ensemble read from our JSON format.

    The format (written by ``bench/train_address_lines.py`` from LightGBM's
    ``dump_model()``): ``{"features": [names], "trees": [{"feature": [...],
    "threshold": [...], "left": [...], "right": [...], "leaf": [...]}],
    "sha256": ...}``. A node goes left when ``x[feature] <= threshold``; a child
    index below zero is leaf ``~index``. The score is the sum of the trees' leaves
    (log-odds); :meth:`probability` applies the logistic function.

    An optional ``"rule_margin"`` (log-odds, a float) makes the model a
    selector between its own pick and the rule reader's address: see
    :func:`choose_address`. Absent (None), the model's pick always wins.

    Args:
        model: the parsed JSON.

    Raises:
        EngineUnavailable: the model is malformed, its checksum does not match
            its trees, or its features are not :data:`FEATURES`.
    """

    def __init__(self, model: dict):
        try:
            self.trees = [(t["feature"], t["threshold"], t["left"], t["right"], t["leaf"]) for t in model["trees"]]
            features = tuple(model["features"])
            digest = model["sha256"]
            margin = model.get("rule_margin")
            self.rule_margin = None if margin is None else float(margin)
        except (KeyError, TypeError, ValueError) as e:
            raise EngineUnavailable(f"address line model is malformed: {e}") from e
        if features != FEATURES:
            raise EngineUnavailable("address line model was trained on other features; retrain it with "
                                     "bench/train_address_lines.py")
        if digest != trees_digest(model["trees"]):
            raise EngineUnavailable("address line model's checksum does not match its trees")

    def score(self, row: list[float]) -> float:
        """Raw score (log-odds) of one feature row."""
        total = 0.0
        for feature, threshold, left, right, leaf in self.trees:
            if not feature:  # a single-leaf tree
                total += leaf[0]
                continue
            node = 0
            while node >= 0:
                node = left[node] if row[feature[node]] <= threshold[node] else right[node]
            total += leaf[~node]
        return total

    def probability(self, row: list[float]) -> float:
        """Probability (0..1) that the line is an address line."""
        return 1.0 / (1.0 + math.exp(-self.score(row)))


def trees_digest(trees: list[dict]) -> str:
    """SHA-256 of the trees' canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(trees, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@functools.lru_cache(maxsize=4)
def load_model(path: str | Path = DEFAULT_MODEL) -> TreeEnsemble:
    """The address line model at ``path`` (memoised).

    Raises:
        EngineUnavailable: the file is missing or malformed.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise EngineUnavailable(f"address line model {path} cannot be read: {e}") from e
    return TreeEnsemble(data)


def best_run(log_odds: list[float]) -> tuple[int, int] | None:
    """``(first, last)`` of the consecutive run with the highest sum of
    ``log_odds`` (Kadane), or None when every value is negative."""
    best, best_span = 0.0, None
    running, start = 0.0, 0
    for k, v in enumerate(log_odds):
        if running <= 0:
            running, start = v, k
        else:
            running += v
        if running > best:
            best, best_span = running, (start, k)
    return best_span


def pick_address_lines(model: TreeEnsemble, rows: list[list[float]]) -> tuple[tuple[int, ...], float]:
    """The address lines the model picks from :func:`line_features` rows.

    Returns:
        ``(indices, probability)``: the lines of the best run scored >= 0.5,
        in order, and the lowest probability among them; ``((), 0.0)`` when no
        line scores >= 0.5.
    """
    return pick_from_scores([model.score(r) for r in rows])


def pick_from_scores(scores: list[float]) -> tuple[tuple[int, ...], float]:
    """:func:`pick_address_lines` on lines already scored (log-odds, one per header line)."""
    span = best_run(scores)
    if span is None:
        return (), 0.0
    picked = tuple(k for k in range(span[0], span[1] + 1) if scores[k] >= 0)
    if not picked:
        return (), 0.0
    return picked, min(1.0 / (1.0 + math.exp(-scores[k])) for k in picked)


def margin_over_rules(scores: list[float], picked: tuple[int, ...], rule_lines: tuple[int, ...] | None) -> float:
    """How much more the model believes its own pick than the rule reader's
    address: the sum of the log-odds of the picked lines minus that of the rule
    address's lines (lines past the header count 0). ``inf`` when the rules
    found no address."""
    if not rule_lines:
        return math.inf
    return (sum(scores[k] for k in picked)
            - sum(scores[k] for k in rule_lines if 0 <= k < len(scores)))


def choose_address(model: TreeEnsemble, scores: list[float], rule_lines: tuple[int, ...] | None
                   ) -> tuple[tuple[int, ...], float] | None:
    """The model's address lines when it should replace the rule reader's address, else None.

    A stacked selector: the model's pick (:func:`pick_from_scores`) replaces the
    rules' address only when :func:`margin_over_rules` exceeds the model's
    ``rule_margin``, a threshold chosen by ``bench/train_address_lines.py`` on
    receipts the trees never saw (the tune half of the 150 new SROIE images;
    the rules and the model fail on different receipts, the margin says which
    to trust). With no ``rule_margin`` the model's pick always wins.

    Returns:
        ``(indices, probability)`` as :func:`pick_address_lines`, or None (keep the rules' address).
    """
    picked, probability, over = pick_with_margin(scores, rule_lines)
    if not picked:
        return None
    margin = getattr(model, "rule_margin", None)
    if margin is not None and over <= margin:
        return None
    return picked, probability


def pick_with_margin(scores: list[float], rule_lines: tuple[int, ...] | None
                     ) -> tuple[tuple[int, ...], float, float]:
    """:func:`pick_from_scores` and the pick's :func:`margin_over_rules`
    (``-inf`` when the model picks nothing): what :func:`choose_address` decides
    on, and what ``bench/train_address_lines.py`` fits the margin to."""
    picked, probability = pick_from_scores(scores)
    if not picked:
        return (), 0.0, -math.inf
    return picked, probability, margin_over_rules(scores, picked, rule_lines)
