"""Fusing two readings of one text line: PP-OCR's letters with the Vietnamese recogniser's
tone marks and vowel marks, letter by letter, where the two readings agree on the letters.

Used by :mod:`app.ocr.hybrid`; pure functions on strings.
"""

from __future__ import annotations

import re
import unicodedata



_VOWELS = "aăâeêioôơuưy"
_TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")  # none, grave, acute, tilde, hook, dot below
_STROKE = "\u0335"  # stands for the stroke of đ/Đ (which Unicode does not decompose)

#: The 134 Vietnamese letters outside ASCII (both cases).
VIETNAMESE_DIACRITIC_LETTERS = frozenset(
    {
        c
        for v in _VOWELS
        for t in _TONES
        for c in (unicodedata.normalize("NFC", v + t), unicodedata.normalize("NFC", v.upper() + t))
        if not c.isascii()
    }
    | {"đ", "Đ"}
)

#: The 46 of them that PP-OCRv6 small's recognition dictionary contains
#: (read from the model bundled in rapidocr 3.10; the engine re-reads it at start).
PP_OCRV6_DIACRITIC_LETTERS = frozenset("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýĂăĐđĨĩŨũƠơƯưẠồ")

#: Vietnamese letters PP-OCRv6 cannot output: where the second recogniser reads one of these,
#: PP-OCR's reading at that place is known to be wrong.
PP_OCRV6_MISSING_LETTERS = VIETNAMESE_DIACRITIC_LETTERS - PP_OCRV6_DIACRITIC_LETTERS


def split_marks(ch: str) -> tuple[str, str]:
    """``(base, marks)`` of one character: ``"ộ" -> ("o", "\\u0302\\u0323")``, ``"Đ" -> ("D", STROKE)``.

    Characters that do not decompose to one base character are their own base.
    """
    if ch in "đĐ":
        return ("d" if ch == "đ" else "D"), _STROKE
    decomposed = unicodedata.normalize("NFD", ch)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if len(base) != 1:
        return ch, ""
    return base, "".join(c for c in decomposed if unicodedata.combining(c))


def join_marks(base: str, marks: str) -> str | None:
    """Inverse of :func:`split_marks`; None unless the result is one character."""
    if _STROKE in marks:
        if base not in "dD" or marks != _STROKE:
            return None
        return "đ" if base == "d" else "Đ"
    out = unicodedata.normalize("NFC", base + marks)
    return out if len(out) == 1 else None


def strip_marks(text: str) -> str:
    """``text`` without diacritics (``đ`` -> ``d``), same length as its NFC form."""
    return "".join(split_marks(c)[0] for c in unicodedata.normalize("NFC", text))


def _key(ch: str) -> str:
    low = split_marks(ch)[0].lower()
    return low if len(low) == 1 else ch


def letter_key(text: str) -> str:
    """Diacritic-stripped, lower-cased form used to align two readings (same length as NFC ``text``)."""
    return "".join(_key(c) for c in unicodedata.normalize("NFC", text))


def agreement(pp_text: str, other_text: str) -> float:
    """1 - normalised Levenshtein distance between the two readings' letter keys, in [0, 1]."""
    from rapidfuzz.distance import Levenshtein

    a, b = letter_key(pp_text), letter_key(other_text)
    if not a and not b:
        return 1.0
    return 1.0 - Levenshtein.normalized_distance(a, b)


def _with_marks_of(pp_ch: str, other_ch: str, keep_pp_marks: bool) -> str:
    """PP-OCR's letter (its case) with the other reader's diacritics, when that is a Vietnamese letter."""
    p_base, p_marks = split_marks(pp_ch)
    if not p_base.isalpha():
        return pp_ch
    t_marks = split_marks(other_ch)[1]
    if t_marks == p_marks or (keep_pp_marks and not t_marks):
        return pp_ch
    out = join_marks(p_base, t_marks)
    if out is None or not (out.isascii() or out in VIETNAMESE_DIACRITIC_LETTERS):
        return pp_ch
    return out


def fuse(
    pp_text: str,
    other_text: str,
    *,
    missing: frozenset[str] = PP_OCRV6_MISSING_LETTERS,
    keep_pp_marks: bool = False,
    min_agreement: float = 0.5,
) -> str:
    """Fuse PP-OCR's reading of one line with a Vietnamese recogniser's (AsterNet or Tesseract).

    Both texts are aligned (Levenshtein opcodes) on their :func:`letter_key`
    forms. Then, block by block:

    - equal letters: PP-OCR's letter, in PP-OCR's case, with the other reader's
      diacritics (``Cong`` + ``Cộng`` -> ``Cộng``); digits and punctuation stay
      PP-OCR's. With ``keep_pp_marks`` a bare letter of the other reader does not remove a
      mark PP-OCR read.
    - The other reader has letters PP-OCR lacks (insert), or a different character at
      the same place (replace of equal length): the other reader's character is taken
      only when it is in ``missing`` (a letter PP-OCR cannot output, so PP-OCR
      had to drop or replace it: ``Thi`` + ``Thời`` -> ``Thời``,
      ``T8ng`` + ``Tổng`` -> ``Tổng``), or, for insertions of one or two
      characters, when it is any tone-marked Vietnamese letter (PP-OCR drops
      some it could output: ``rui`` + ``ruồi`` -> ``ruồi``).
    - anything else (PP-OCR-only characters, unequal replacements): PP-OCR's.

    Args:
        pp_text: PP-OCR's reading.
        other_text: the other reader's reading of the same line.
        missing: letters PP-OCR's dictionary cannot produce.
        keep_pp_marks: keep PP-OCR's marks where the other reader's letter has none.
        min_agreement: below this :func:`agreement`, the readings are taken to
            be of different things and PP-OCR's text is returned unchanged.

    Returns:
        The fused text, Unicode NFC.
    """
    from rapidfuzz.distance import Levenshtein

    pp = unicodedata.normalize("NFC", pp_text)
    tess = unicodedata.normalize("NFC", " ".join(other_text.split()))
    if not tess or not pp:
        return pp
    kp, kt = letter_key(pp), letter_key(tess)
    if 1.0 - Levenshtein.normalized_distance(kp, kt) < min_agreement:
        return pp
    out: list[str] = []
    for tag, i1, i2, j1, j2 in Levenshtein.opcodes(kp, kt):
        if tag == "equal":
            out.extend(_with_marks_of(p, t, keep_pp_marks) for p, t in zip(pp[i1:i2], tess[j1:j2]))
        elif tag == "insert":
            # A letter PP-OCR cannot output, or a short run of tone-marked letters that
            # PP-OCR dropped although its dictionary has them ("rui" + "ruồi", "X" + "Xã"),
            # when the word they go into becomes a Vietnamese syllable ("MINIMART" + "MINIMỊART": no).
            short = j2 - j1 <= 2
            letters = [t for t in tess[j1:j2] if t in missing or (short and t in VIETNAMESE_DIACRITIC_LETTERS)]
            if letters and _makes_syllable(pp, i1, "".join(letters)):
                out.extend(letters)
        elif tag == "replace" and i2 - i1 == j2 - j1:
            for p, t in zip(pp[i1:i2], tess[j1:j2]):
                if t in missing:
                    # Keep PP-OCR's case when it read a letter there.
                    out.append(t.upper() if p.isupper() else t.lower() if p.islower() else t)
                else:
                    out.append(p)
        else:  # delete, or replace of unequal length
            out.append(pp[i1:i2])
    return unicodedata.normalize("NFC", "".join(out))


#: The shape of a Vietnamese syllable without marks, lower case: initial consonant(s),
#: one to three vowels, final consonant(s) (the orthography's inventory).
SYLLABLE = re.compile(r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(ch|ng|nh|[cmnptiuoy])?")


def _makes_syllable(text: str, at: int, inserted: str) -> bool:
    """Whether the word of ``text`` around position ``at``, with ``inserted``
    put in at ``at``, is a Vietnamese syllable once marks are removed."""
    start, end = at, at
    while start > 0 and text[start - 1].isalpha():
        start -= 1
    while end < len(text) and text[end].isalpha():
        end += 1
    word = strip_marks(text[start:at] + inserted + text[at:end]).lower()
    return bool(SYLLABLE.fullmatch(word))


def fused_confidence(pp_score: float, agree: float) -> float:
    """PP-OCR's score lowered by disagreement: ``pp_score * (0.5 + 0.5 * agree)``."""
    return float(pp_score) * (0.5 + 0.5 * float(agree))


# ---------------------------------------------------------------- options
