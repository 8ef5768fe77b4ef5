"""Malaysian postcodes: the town an address's postcode names, to repair OCR misreadings of either.

A Malaysian address ends with a five-digit postcode and its post town
("48000 RAWANG, SELANGOR"). Text recognition misreads letters of the town
("48000 KAWANG") and digits of the postcode ("43600 DENGKIL" for 43800), but the
two check each other: the postcode's town is known. From the postcode table of
the ``countrystatecity-postal-codes`` wheel (2,929 Malaysian postcodes with
their locality; data of the countries-states-cities database, Open Database
License 1.0 — only its ``data/by-country/MY/postcodes.json`` is read, the
package's code is never imported):

* a town read one edit off the postcode's locality (each word within
  Levenshtein distance 1, words of 4+ letters) takes the locality's spelling,
  in the printed case; the same misread word elsewhere in the address
  ("BANDAR BARU KAWANG") is repaired with it;
* a postcode that is not in the table, where exactly one postcode one digit
  away has the printed town as its locality, is replaced by it (a real
  postcode printed with another town is left: addresses often name the
  suburb, "53100 SETAPAK", where the table names the post town).

Without the package, :func:`postcode_table` returns None and addresses are
left as read.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import re
from collections import defaultdict
from pathlib import Path

from rapidfuzz.distance import Levenshtein

log = logging.getLogger(__name__)

_PACKAGE = "countrystatecity_postal_codes"
_POSTCODE_TOWN = re.compile(r"(?<![\w-])(\d{5})(?![\w-])[\s,.]*((?:[A-Za-z]+[\s.]*){1,4})")


class PostcodeTable:
    """Postcodes and their localities, both ways.

    Args:
        rows: ``(postcode, locality)`` pairs; postcodes of five digits, names in any case.
    """

    def __init__(self, rows):
        localities: dict[str, set[str]] = defaultdict(set)
        for code, name in rows:
            code, name = str(code), str(name or "").strip().upper()
            if re.fullmatch(r"\d{5}", code) and name:
                localities[code].add(name)
        self.localities = {code: tuple(sorted(names)) for code, names in localities.items()}
        by_town: dict[str, list[str]] = defaultdict(list)
        for code, names in self.localities.items():
            for name in names:
                by_town[name].append(code)
        self.by_town = dict(by_town)

    def __len__(self) -> int:
        return len(self.localities)


@functools.lru_cache(maxsize=1)
def postcode_table() -> PostcodeTable | None:
    """The Malaysian postcode table of the ``countrystatecity-postal-codes`` wheel, or None without it."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).parent / "data" / "by-country" / "MY" / "postcodes.json"
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return PostcodeTable((row.get("code", ""), row.get("localityName")) for row in rows)
    except (OSError, ValueError, AttributeError) as e:
        log.warning("Malaysian postcode table %s cannot be read: %s", path, e)
        return None


def _one_edit(a: str, b: str) -> bool:
    return Levenshtein.distance(a, b, score_cutoff=1) <= 1


def _in_case(word: str, like: str) -> str:
    return word if like.isupper() else word.capitalize()


def fix_postcode_town(text: str, table: PostcodeTable | None = None) -> str:
    """``text`` (one address) with its post town and postcode checked against each other.

    Args:
        text: the address as read.
        table: the postcodes (default :func:`postcode_table`).

    Returns:
        The repaired address (unchanged when nothing is certain, or without the table).
    """
    table = postcode_table() if table is None else table
    if not table:
        return text
    repairs: dict[str, str] = {}
    out = text
    for m in _POSTCODE_TOWN.finditer(text):
        code = m.group(1)
        words = re.findall(r"[A-Za-z]+", m.group(2))
        localities = table.localities.get(code, ())
        if any(" ".join(w.upper() for w in words[: len(n.split())]) == n for n in localities):
            continue  # the town is the postcode's
        fixed = False
        for name in localities:
            parts = name.split()
            read = words[: len(parts)]
            if len(read) == len(parts) and all(
                    r.upper() == p or (len(p) >= 4 and len(r) >= 4 and _one_edit(r.upper(), p))
                    for r, p in zip(read, parts)):
                repairs.update({r: _in_case(p, r) for r, p in zip(read, parts) if r.upper() != p})
                fixed = True
                break
        if fixed:
            continue
        if localities:
            continue  # a real postcode printed with a suburb's name ("53100 SETAPAK"): both as printed
        # No such postcode, so the town is right and the postcode misread: one postcode a digit away names it.
        for n_words in range(min(4, len(words)), 0, -1):
            town = " ".join(w.upper() for w in words[:n_words])
            near = [c for c in table.by_town.get(town, ()) if sum(x != y for x, y in zip(c, code)) == 1]
            if len(near) == 1:  # five digits for five: the later matches' offsets still hold
                out = out[: m.start(1)] + near[0] + out[m.end(1):]
            if near:
                break
    for wrong, right in repairs.items():
        out = re.sub(rf"\b{re.escape(wrong)}\b", right, out)
    return out
