"""Hybrid OCR engine: PP-OCRv6 detection + a Vietnamese line recogniser, fused.

PP-OCRv6's recognition dictionary lacks 88 of the 134 Vietnamese letters with
diacritics (PaddleOCR issue #18254), so RapidOCR drops or replaces them
(``CỘNG`` -> ``CNG``, ``Thời`` -> ``Thi``) while it finds lines and reads base
letters well on photos. This engine:

1. runs RapidOCR's PP-OCRv6 text detector, orientation classifier and
   recogniser (the same models as ``OCR_ENGINE=rapidocr``);
2. reads the same detected lines again with a recogniser that knows every
   Vietnamese letter (``recogniser`` option):

   - ``aster`` (the default): AsterNet (:mod:`app.ocr.aster`, the ``asterocr``
     wheel, MIT) on PP-OCR's own upright line crops, for lines in which PP-OCR
     read at least one letter (amount-only lines keep PP-OCR's reading);
   - ``tesseract``: Tesseract's ``vie`` LSTM model on each line cut out of the
     full-resolution image again (perspective warp of its quadrilateral, so
     slanted lines come out level), turned upright (one orientation vote per
     page), scaled to a fixed height, the paper flattened to white, a white
     border added, read as a single text line (``--psm 7``);
   - ``aster+tesseract``: both, fused in that order;

3. fuses the readings with :func:`fuse`: both are aligned on their
   diacritic-stripped, lower-cased letters; where those agree, PP-OCR's letter
   takes the other reader's marks; where PP-OCR has nothing (or a different
   character) and the other reader read a letter that PP-OCR's dictionary
   cannot produce, that letter is used; everything else stays PP-OCR's.

Confidence is PP-OCR's score scaled by how well the readers agree on the
letters (``0.5 + 0.5 * agreement``), so lines the readers disagree on rank low.
Pages that do not look Vietnamese (:func:`looks_vietnamese`) keep PP-OCR's
reading: the second recogniser would only add marks to English/Malay words.

Tesseract runs as the ``tesseract`` command (``backend=cli``, the default: one
process per worker and photo, reading a list of line images) or in-process
through the optional ``tesserocr`` package (``backend=tesserocr``). Both read
the traineddata of Debian's ``tesseract-ocr-vie`` package (Apache-2.0) from the
standard tessdata folders (:data:`TESSDATA_DIRS`).

Measured on the 61 shared MC-OCR photos (``bench/ocr_cer.py``, best-match line
CER / Vietnamese diacritic letters read exactly): PP-OCR alone 17.5% / 24%,
AsterNet alone on PP-OCR's lines 16.0% / 67%, fused with Tesseract 13.3% / 59%,
fused with AsterNet (the default) 12.1% / 68%.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from app.classify.language import looks_vietnamese
from app.config import ConfigError, Settings
from app.domain import OcrResult, TextLine
from app.geometry import sort_reading_order
from app.errors import EngineUnavailable, OcrEngineError, PayloadTooLarge
from app.ocr.base import OcrEngine, register_engine
from app.ocr.geometry import (
    box_heights,
    check_geometry,
    detector_budget,
    library_preprocess_size,
    select_lines,
    sized_detection,
    text_columns,
)
from app.ocr.header import MERGES, header_region, inside_region, merge_passes
from app.requirements import CheckContext, Requirement, register_check

log = logging.getLogger(__name__)

INSTALL_HINT = "apt-get install tesseract-ocr tesseract-ocr-vie"

# Where Linux/macOS packages put tessdata (Debian/Ubuntu first).
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)

# ---------------------------------------------------------------- letters

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

FUSIONS = ("fuse", "aster", "tesseract", "ppocr")
RECOGNISERS = ("aster", "tesseract", "aster+tesseract")
BACKENDS = ("cli", "tesserocr")
NORMALIZE = ("none", "flatten", "otsu")
ORIENTATIONS = ("line", "page")


@dataclass(frozen=True)
class HybridOptions:
    """Tuning of the hybrid engine (defaults are the measured best; see bench/ocr_cer.py).

    Attributes:
        recogniser: the second line recogniser(s): ``aster`` (default, measured
            best), ``tesseract`` or ``aster+tesseract`` (fused in that order).
        fusion: ``fuse`` (default), ``aster`` / ``tesseract`` (that reader's
            reading of the PP-OCR-detected lines, no fusion; it is loaded even
            when ``recogniser`` does not name it) or ``ppocr`` (PP-OCR's
            reading only).
        backend: ``cli`` (the ``tesseract`` command from Debian's package; the
            default) or ``tesserocr`` (in-process, about 0.06 s per photo
            faster; its wheel bundles libtesseract and image libraries,
            JBIG-KIT (GPL-2.0+) among them, into the service process).
        lang: Tesseract languages: ``vie`` (measured best; ``vie+eng`` keeps
            fewer diacritics), ``vie+eng``, ...
        line_height: height in pixels each detected line box is scaled to before
            Tesseract reads it (the box includes the detector's margin, so the
            x-height is roughly a third of it; 32-48 measured best on photos).
        margin: extra context cut around the box, as a fraction of its height
            (0: the detector's box already has a margin; more pulls in
            neighbouring lines and table rules, which Tesseract then reads).
        border: white border added around the line image, in pixels.
        normalize: ``flatten`` (divide by the estimated paper brightness, so the
            background is white), ``otsu`` (binarise), or ``none`` (grey as is).
        orientation: ``page`` (turn every line 180 degrees when most of the
            page's lines are classified upside down) or ``line`` (per line, as
            RapidOCR does).
        keep_pp_marks: see :func:`fuse`.
        min_agreement: see :func:`fuse`.
        workers: Tesseract threads/processes per image (0 = ``OCR_THREADS`` or
            the CPU count, at most 4).
        aster_model: path of another ONNX model with AsterNet's contract (a
            retrained AsterNet from ``tools/train_recogniser.py``, its
            ``vocab.json`` beside it) to use instead of the wheel's; empty: the
            wheel's. For measuring (``bench/ocr_cer.py --set aster_model=...``).
    """

    recogniser: str = "aster"
    fusion: str = "fuse"
    backend: str = "cli"
    lang: str = "vie"
    line_height: int = 40
    margin: float = 0.0
    border: int = 12
    normalize: str = "flatten"
    orientation: str = "page"
    keep_pp_marks: bool = False
    min_agreement: float = 0.5
    workers: int = 0
    aster_model: str = ""

    def __post_init__(self):
        for name, choices in (
            ("recogniser", RECOGNISERS),
            ("fusion", FUSIONS),
            ("backend", BACKENDS),
            ("normalize", NORMALIZE),
            ("orientation", ORIENTATIONS),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        if not 8 <= self.line_height <= 512:
            raise ValueError(f"line_height must be 8..512 pixels, got {self.line_height}")

    @property
    def readers(self) -> tuple[str, ...]:
        """Second recognisers to load, in fusion order."""
        if self.fusion in ("aster", "tesseract"):
            return (self.fusion,)
        if self.fusion == "ppocr":
            return ()
        return tuple(self.recogniser.split("+"))

    @classmethod
    def parse(cls, values: dict[str, str]) -> "HybridOptions":
        """Options from strings (``{"line_height": "80"}``), e.g. from a command line."""
        kinds = {f.name: f.type for f in fields(cls)}
        out = {}
        for key, raw in values.items():
            kind = kinds.get(key)
            if kind is None:
                raise ValueError(f"unknown option {key!r}; known: {', '.join(kinds)}")
            if kind == "bool":
                out[key] = raw.strip().lower() in ("1", "true", "yes", "on")
            elif kind == "int":
                out[key] = int(raw)
            elif kind == "float":
                out[key] = float(raw)
            else:
                out[key] = raw.strip()
        return replace(cls(), **out)


def combine(
    pp: tuple[str, float],
    others: Sequence[tuple[str, float]],
    options: HybridOptions,
    missing: frozenset[str] = PP_OCRV6_MISSING_LETTERS,
) -> tuple[str, float]:
    """One line's text and confidence from PP-OCR's reading and the second recognisers'.

    Args:
        pp: PP-OCR's ``(text, score)``.
        others: ``(text, confidence)`` of each second recogniser, in
            ``options.readers`` order (empty when none ran on this line).
        options: ``fusion``, ``keep_pp_marks``, ``min_agreement``.
        missing: letters PP-OCR's dictionary cannot produce.

    Returns:
        ``fusion=fuse``: PP-OCR's text fused (:func:`fuse`) with each other
        reading in turn (after the first, a later reader only adds marks where
        there are none), confidence :func:`fused_confidence` with the best
        agreement; ``fusion=aster``/``tesseract``: that reading (PP-OCR's when
        it read nothing); ``fusion=ppocr``, no other reading, or a
        machine-readable-zone line (``<<``): PP-OCR's reading unchanged.
    """
    pp_text, pp_score = pp
    others = [(unicodedata.normalize("NFC", " ".join(t.split())), c) for t, c in others]
    if options.fusion == "ppocr" or not others or "<<" in pp_text:
        # Machine-readable zones (ICAO 9303) are upper-case ASCII with check digits:
        # a Vietnamese recogniser's marks can only break them.
        return pp_text, pp_score
    if options.fusion in ("aster", "tesseract"):
        return others[0] if others[0][0] or not pp_text else (pp_text, pp_score)
    text = pp_text
    agrees = []
    for n, (other, _) in enumerate(others):
        if not other:
            continue
        agrees.append(agreement(pp_text, other))
        text = fuse(
            text,
            other,
            missing=missing,
            keep_pp_marks=options.keep_pp_marks or n > 0,
            min_agreement=options.min_agreement,
        )
    return text, (fused_confidence(pp_score, max(agrees)) if agrees else pp_score)


# ---------------------------------------------------------------- line images


def line_image(gray: np.ndarray, quad: np.ndarray, options: HybridOptions, upside_down: bool = False) -> np.ndarray:
    """Cut one detected line out of the page for Tesseract.

    Args:
        gray: ``(H, W)`` uint8 page.
        quad: ``(4, 2)`` box in page pixels, clockwise from the text's top-left.
        options: ``line_height``, ``margin``, ``border``, ``normalize``.
        upside_down: turn the result 180 degrees.

    Returns:
        ``(h, w)`` uint8 image: the line level and upright, its box
        ``line_height`` pixels high, dark text on white with a white border.
    """
    import cv2

    quad = np.asarray(quad, dtype=np.float32).reshape(4, 2)
    box_w = max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3]), 1.0)
    box_h = max(np.linalg.norm(quad[3] - quad[0]), np.linalg.norm(quad[2] - quad[1]), 1.0)
    tall = box_h >= 1.5 * box_w  # RapidOCR's rule: such a crop is turned 90 degrees
    scale = options.line_height / (box_w if tall else box_h)
    m = options.margin * (box_w if tall else box_h) * scale
    out_w, out_h = box_w * scale, box_h * scale
    dst = np.array([[m, m], [m + out_w, m], [m + out_w, m + out_h], [m, m + out_h]], dtype=np.float32)
    size = (int(round(out_w + 2 * m)), int(round(out_h + 2 * m)))
    matrix = cv2.getPerspectiveTransform(quad, dst)
    flags = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    img = cv2.warpPerspective(gray, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    if tall:
        img = np.rot90(img)
    if upside_down:
        img = np.rot90(img, 2)
    img = np.ascontiguousarray(img)
    if options.normalize == "flatten":
        # Paper brightness: a large closing (max filter) removes the dark strokes.
        k = max(3, int(options.line_height * 0.6) | 1)
        background = cv2.morphologyEx(img, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
        img = cv2.divide(img, background, scale=255)
        lo = np.percentile(img, 1)
        if lo < 250:
            img = np.clip((img.astype(np.float32) - lo) * (255.0 / (255.0 - lo)), 0, 255).astype(np.uint8)
    elif options.normalize == "otsu":
        _, img = cv2.threshold(img, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if options.border:
        b = options.border
        img = cv2.copyMakeBorder(img, b, b, b, b, cv2.BORDER_CONSTANT, value=255)
    return img


# ---------------------------------------------------------------- Tesseract


def find_tessdata(langs: Sequence[str]) -> Path:
    """The first standard tessdata folder holding ``<lang>.traineddata`` for every lang.

    Raises:
        EngineUnavailable: none does; the message says what to install.
    """
    for folder in TESSDATA_DIRS:
        path = Path(folder)
        if all((path / f"{lang}.traineddata").is_file() for lang in langs):
            return path
    raise EngineUnavailable(
        f"OCR_ENGINE=hybrid with recogniser tesseract needs Tesseract's {'+'.join(langs)} traineddata, not found in "
        f"{', '.join(TESSDATA_DIRS)}: {INSTALL_HINT}"
    )


def _executor(workers: int) -> ThreadPoolExecutor | None:
    """Threads that read chunks of a photo's lines in parallel (None for one worker)."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tesseract") if workers > 1 else None


class _TesserocrReader:
    """Tesseract in-process through tesserocr: a pool of ``TessBaseAPI`` objects
    (one per concurrent caller/worker; each is used by one thread at a time)."""

    def __init__(self, tessdata: Path, lang: str, workers: int):
        try:
            import tesserocr
        except ImportError as e:
            raise EngineUnavailable(
                "OCR_ENGINE=hybrid with backend tesserocr needs the 'tesserocr' package "
                f"(pip install tesserocr==2.13.0) and {INSTALL_HINT}"
            ) from e
        self._tesserocr = tesserocr
        self._tessdata = tessdata
        self._lang = lang
        self._pool: queue.LifoQueue = queue.LifoQueue()
        self._workers = workers
        self._executor = _executor(workers)
        self._release(self._new_api())  # fail at start-up, not on the first request

    def _new_api(self):
        tess = self._tesserocr
        try:
            return tess.PyTessBaseAPI(
                path=str(self._tessdata) + os.sep, lang=self._lang, psm=tess.PSM.SINGLE_LINE, oem=tess.OEM.LSTM_ONLY
            )
        except RuntimeError as e:
            raise EngineUnavailable(f"Tesseract failed to load {self._lang} from {self._tessdata}: {e}") from e

    def _acquire(self):
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            return self._new_api()

    def _release(self, api) -> None:
        self._pool.put(api)

    def _read_chunk(self, images: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        api = self._acquire()
        try:
            out = []
            for img in images:
                h, w = img.shape[:2]
                api.SetImageBytes(img.tobytes(), w, h, 1, w)
                api.SetSourceResolution(300)
                text = api.GetUTF8Text()
                out.append((text, max(api.MeanTextConf(), 0) / 100.0))
            return out
        finally:
            self._release(api)

    def read(self, images: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """``(text, confidence in [0, 1])`` for each ``(h, w)`` uint8 line image."""
        if self._executor is None or len(images) < 2 * self._workers:
            return self._read_chunk(images)
        chunks = [images[i :: self._workers] for i in range(self._workers)]
        results = list(self._executor.map(self._read_chunk, chunks))
        out: list[tuple[str, float]] = [("", 0.0)] * len(images)
        for i, chunk in enumerate(results):
            out[i :: self._workers] = chunk
        return out

    def describe(self) -> str:
        return f"tesserocr {self._tesserocr.tesseract_version().split()[1]}"


class _TesseractCliReader:
    """The ``tesseract`` command on a list file of line images (one process per
    worker and batch, ``OMP_THREAD_LIMIT=1``); per-line confidence from its TSV."""

    def __init__(self, tessdata: Path, lang: str, workers: int, timeout_s: float = 120.0):
        exe = shutil.which("tesseract")
        if exe is None:
            raise EngineUnavailable(f"OCR_ENGINE=hybrid with backend cli needs the tesseract command: {INSTALL_HINT}")
        self._exe, self._tessdata, self._lang, self._workers, self._timeout = exe, tessdata, lang, workers, timeout_s
        self._executor = _executor(workers)
        try:
            version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as e:
            raise EngineUnavailable(f"tesseract does not run ({e}): {INSTALL_HINT}") from e
        self._version = (version.stdout or version.stderr).split("\n", 1)[0].strip()

    def _read_chunk(self, images: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        import cv2

        if not images:
            return []
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        with tempfile.TemporaryDirectory(prefix="hybrid-ocr-") as tmp:
            names = []
            for i, img in enumerate(images):
                name = os.path.join(tmp, f"{i:05d}.png")
                cv2.imwrite(name, img)
                names.append(name)
            listing = os.path.join(tmp, "lines.txt")
            Path(listing).write_text("\n".join(names) + "\n", encoding="utf-8")
            cmd = [self._exe, listing, "stdout", "--tessdata-dir", str(self._tessdata), "-l", self._lang,
                   "--oem", "1", "--psm", "7", "--dpi", "300", "tsv"]
            try:
                proc = subprocess.run(cmd, capture_output=True, timeout=self._timeout, env=env)
            except subprocess.TimeoutExpired as e:
                raise OcrEngineError("Tesseract timed out") from e
            if proc.returncode != 0:
                stderr = proc.stderr[-2000:].decode("utf-8", "replace")
                log.warning("tesseract exited with %s: %s", proc.returncode, stderr)
                raise OcrEngineError(f"Tesseract failed with exit status {proc.returncode}")
        words: list[list[str]] = [[] for _ in images]
        confs: list[list[float]] = [[] for _ in images]
        for row in proc.stdout.decode("utf-8", "replace").splitlines()[1:]:
            cols = row.split("\t")
            if len(cols) < 12 or cols[0] != "5":
                continue
            page = int(cols[1]) - 1
            if 0 <= page < len(images) and cols[11].strip():
                words[page].append(cols[11])
                confs[page].append(max(float(cols[10]), 0.0))
        return [(" ".join(w), (sum(c) / len(c) / 100.0) if c else 0.0) for w, c in zip(words, confs)]

    def read(self, images: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        if self._executor is None or len(images) < 2 * self._workers:
            return self._read_chunk(images)
        size = -(-len(images) // self._workers)
        chunks = [images[i : i + size] for i in range(0, len(images), size)]
        out: list[tuple[str, float]] = []
        for part in self._executor.map(self._read_chunk, chunks):
            out.extend(part)
        return out

    def describe(self) -> str:
        return self._version


def _make_reader(backend: str, tessdata: Path, lang: str, workers: int):
    if backend == "tesserocr":
        return _TesserocrReader(tessdata, lang, workers)
    return _TesseractCliReader(tessdata, lang, workers)


# ---------------------------------------------------------------- engine


@register_engine("hybrid")
class HybridOcrEngine(OcrEngine):
    """PP-OCRv6 detection (RapidOCR) + a Vietnamese line recogniser (AsterNet
    and/or Tesseract ``vie``), fused.

    Args:
        settings: ``text_det_conf_threshold`` (DB box score threshold),
            ``text_rec_conf_threshold`` (lines below it in PP-OCR's score are
            dropped, the same line set as ``OCR_ENGINE=rapidocr``),
            ``ocr_threads`` (ONNX Runtime threads, and Tesseract workers when
            ``options.workers`` is 0), ``ocr_recogniser`` (the second
            recogniser when ``options`` is not given), the detection settings
            of :class:`app.ocr.rapid.RapidOcrEngine` (``text_det_*``), and the
            header pass: ``ocr_header_fraction`` (share of the text's height,
            from its top, detected a second time; 0 = no second pass),
            ``ocr_header_scale`` (its resolution, as a multiple of the first
            pass's) and ``ocr_header_merge`` (``replace`` or ``fill``, see
            :func:`app.ocr.header.merge_passes`).
        options: tuning; the defaults are the measured best.

    Raises:
        EngineUnavailable: rapidocr or its models, the ``asterocr`` model files
            (``aster``), or tesseract/tesserocr and the traineddata
            (``tesseract``) are missing; the message says what to install.
        ConfigError: ``ocr_header_merge`` is not ``replace`` or ``fill``.
    """

    name = "hybrid"

    def __init__(self, settings: Settings, options: HybridOptions | None = None):
        self.options = options or HybridOptions(recogniser=settings.ocr_recogniser)
        self._aster = None
        self._reader = None
        if "aster" in self.options.readers:
            from app.ocr.aster import AsterRecognizer

            self._aster = AsterRecognizer(threads=settings.ocr_threads,
                                          model_path=Path(self.options.aster_model) if self.options.aster_model else None)
        if "tesseract" in self.options.readers:
            langs = [x for x in self.options.lang.split("+") if x]
            tessdata = find_tessdata(langs)
            workers = self.options.workers or settings.ocr_threads or min(os.cpu_count() or 1, 4)
            self._reader = _make_reader(self.options.backend, tessdata, self.options.lang, workers)

        from app.ocr.rapid import RapidOcrEngine

        self._rapid = RapidOcrEngine(settings)  # checks its package and bundled models
        self._ocr = self._rapid._ocr
        self._lock = threading.Lock()  # RapidOCR's pipeline steps share state
        self._rec_threshold = settings.text_rec_conf_threshold
        self._header_fraction = settings.ocr_header_fraction
        self._text_height = settings.ocr_det_text_height
        self._header_scale = settings.ocr_header_scale
        if settings.ocr_header_merge not in MERGES:
            raise ConfigError(f"OCR_HEADER_MERGE must be one of {', '.join(MERGES)}, got {settings.ocr_header_merge!r}")
        self._header_merge = settings.ocr_header_merge
        self._missing = self._missing_letters()
        log.info("OCR engine hybrid ready: %s; %s", self.options, self._second_description())

    def _missing_letters(self) -> frozenset[str]:
        """Vietnamese letters absent from the loaded PP-OCR recogniser's dictionary."""
        try:
            chars = set(self._ocr._load_rec_model().postprocess_op.character)
        except Exception:  # private layout changed: fall back to the measured set
            return PP_OCRV6_MISSING_LETTERS
        return frozenset(c for c in VIETNAMESE_DIACRITIC_LETTERS if c not in chars)

    def _second_description(self) -> str:
        parts = []
        for name in self.options.readers:
            if name == "aster":
                parts.append(self._aster.describe())
            else:
                parts.append(f"Tesseract {self.options.lang} ({self._reader.describe()})")
        return " + ".join(parts) or "none"

    def describe(self) -> dict:
        out = self._rapid.describe()
        out.update(
            engine=self.name,
            recognition_model=f"{out.get('recognition_model')} + {self._second_description()}",
            fusion=self.options.fusion,
        )
        return out

    # -- stages ----------------------------------------------------------

    def _detect(self, image: np.ndarray, scale: float | None = None):
        """PP-OCR boxes in image pixels ``(N, 4, 2)``, the line crops (cut from the
        image as RapidOCR's preprocess sized it) and the detector's resize factor
        relative to ``image``, within the input budget of :mod:`app.ocr.geometry`
        (raises PayloadTooLarge). ``scale``: the detector's resize factor wanted
        (the header pass), instead of the ``TEXT_DET_LIMIT_SIDE_LEN`` rule.

        With ``OCR_DET_TEXT_HEIGHT`` > 0 and no ``scale``, a probe pass at
        :data:`~app.ocr.geometry.PROBE_FACTOR` of the rule's scale measures the text height first,
        and its boxes stand when the text is tall enough there
        (:func:`app.ocr.geometry.text_height_scale`); otherwise the page is
        detected again at the scale the text needs, at most the rule's."""
        if scale is not None or self._text_height <= 0:
            return self._detect_once(image, scale)
        return sized_detection(lambda s: self._detect_once(image, s), lambda found: (box_heights(found[0]), found[2]),
                               self._ocr, *image.shape[:2], self._rapid.limits,
                               min_side_len=self._rapid.det_limit_side_len, target=self._text_height)

    def _detect_once(self, image: np.ndarray, scale: float | None):
        """One detector pass (see :meth:`_detect`); ``scale`` as ``detector_budget``'s."""
        from rapidocr.main import RapidOCRError
        from rapidocr.utils.process_img import map_boxes_to_original

        height, width = image.shape[:2]
        with detector_budget(self._ocr, height, width, self._rapid.limits,
                             min_side_len=self._rapid.det_limit_side_len, scale=scale) as (_, det_scale):
            resized, record = self._ocr.preprocess_img(image)
            try:
                crops, det = self._ocr.detect_and_crop(resized, record)
            except RapidOCRError:  # nothing detected
                crops, det = [], None
        if not crops:
            return np.zeros((0, 4, 2), np.float32), [], det_scale
        keep = select_lines(crops, self._rapid.limits)
        if not keep:
            return np.zeros((0, 4, 2), np.float32), [], det_scale
        crops = [crops[i] for i in keep]
        det_boxes = np.asarray(det.boxes, dtype=np.float32)[keep]
        boxes = map_boxes_to_original(det_boxes, record, height, width)
        return np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2), list(crops), det_scale

    def _header_pass(self, image: np.ndarray, boxes: np.ndarray, crops: list, flips: list[bool],
                     page_scale: float):
        """Detect the page's header again at ``OCR_HEADER_SCALE`` times the first
        pass's resolution (``page_scale``: the first pass's detector resize
        factor) and merge the lines (:mod:`app.ocr.header`).

        Returns:
            ``(kept, new_boxes, new_crops, new_flips)``: indices of the first
            pass's lines kept, and the header pass's lines added (``(M, 4, 2)``
            boxes in image pixels, crops, turn-180 flags); or None (the first
            pass's lines stand) when there is no header region, the region is
            refused by the geometry checks, nothing is found in it, or the
            merged lines would exceed ``OCR_MAX_TEXT_COLUMNS`` (the second pass
            never makes a page cost more than the budget, nor refuses a page the
            first pass read).
        """
        from app.errors import UnprocessableImage

        height, width = image.shape[:2]
        turn = page_turn(boxes, bool(flips) and sum(flips) * 2 > len(flips))
        region = header_region(boxes, width, height, turn, fraction=self._header_fraction)
        if region is None:
            return None
        limits = self._rapid.limits
        try:
            check_geometry(region.height, region.width, limits)
        except UnprocessableImage:
            return None
        band = np.ascontiguousarray(image[region.y0:region.y1, region.x0:region.x1])
        pre_h = library_preprocess_size(region.height, region.width)[0]
        try:
            b_boxes, b_crops, _ = self._detect(band, scale=self._header_scale * page_scale * region.height / pre_h)
        except PayloadTooLarge:
            return None
        if not b_crops:
            return None
        b_boxes = b_boxes + np.array([region.x0, region.y0], dtype=np.float32)
        whole = np.flatnonzero(inside_region(b_boxes, region, width, height))
        b_boxes, b_crops = b_boxes[whole], [b_crops[j] for j in whole]
        kept, added = merge_passes(boxes, b_boxes, self._header_merge)
        new_crops = [b_crops[j] for j in added]
        if sum(text_columns(c.shape) for c in [crops[i] for i in kept] + new_crops) > limits.max_text_columns:
            return None
        if self.options.orientation == "line":
            new_flips = self._upside_down(new_crops)
        else:  # the page's vote, as for the first pass's lines
            new_flips = [bool(flips[0]) if flips else False] * len(new_crops)
        return kept, b_boxes[added].reshape(-1, 4, 2), new_crops, new_flips

    def _upside_down(self, crops: list[np.ndarray]) -> list[bool]:
        """Per line: turn it 180 degrees? (orientation classifier, per line or by page vote)."""
        if not crops:
            return []
        _, cls = self._ocr.cls_and_rotate(crops)
        thresh = float(self._ocr.cfg.Cls.cls_thresh)
        per_line = [("180" in label and score > thresh) for label, score in cls.cls_res]
        if self.options.orientation == "line":
            return per_line
        vote = sum((1 if "180" in label else -1) * score for label, score in cls.cls_res)
        return [vote > 0] * len(crops)

    def _pp_read(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        if not crops:
            return []
        rec = self._ocr.recognize_txt(crops)
        return [(unicodedata.normalize("NFC", str(t)).strip(), float(s)) for t, s in zip(rec.txts, rec.scores)]

    def _aster_read(self, crops: Sequence[np.ndarray], pp: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
        """AsterNet's reading of the upright crops in which PP-OCR read a letter (others: empty)."""
        wanted = [i for i, (text, _) in enumerate(pp) if any(ch.isalpha() for ch in text)]
        out: list[tuple[str, float]] = [("", 0.0)] * len(pp)
        for i, got in zip(wanted, self._aster.read([crops[i] for i in wanted])):
            out[i] = got
        return out

    def _second_read(self, pp, upright_crops, tess_images) -> list[list[tuple[str, float]]]:
        """Per second recogniser (in ``options.readers`` order): its readings, one per line."""
        out = []
        for name in self.options.readers:
            if name == "aster":
                out.append(self._aster_read(upright_crops, pp))
            else:
                out.append(self._reader.read(tess_images()))
        return out

    def _combine(self, pp: tuple[str, float], others: Sequence[tuple[str, float]]) -> tuple[str, float]:
        return combine(pp, others, self.options, self._missing)

    # -- public ----------------------------------------------------------

    def recognize(self, image: np.ndarray) -> OcrResult:
        """See :meth:`OcrEngine.recognize`. ``detection_ms`` is PP-OCR's detector
        (with the header pass, ``OCR_HEADER_FRACTION`` > 0, on Vietnamese
        pages: its detection and PP-OCR's reading of the lines it adds);
        ``recognition_ms`` covers orientation, PP-OCR and the second
        recogniser(s) and fusion.

        Raises:
            ImageTooSmall, UnsupportedGeometry: the image's shape is refused
                (:func:`app.ocr.geometry.check_geometry`, 422).
            PayloadTooLarge: more text than ``OCR_MAX_TEXT_COLUMNS`` (413).
            OcrEngineError: an engine failed on an image within the limits.
        """
        import cv2

        height, width = image.shape[:2]
        check_geometry(height, width, self._rapid.limits)
        try:
            t0 = time.perf_counter()
            with self._lock:
                boxes, crops, page_scale = self._detect(image)
                t1 = time.perf_counter()
                flips = self._upside_down(crops)
                pp_crops = [np.ascontiguousarray(np.rot90(c, 2)) if f else c for c, f in zip(crops, flips)]
                pp = self._pp_read(pp_crops)
                vietnamese = looks_vietnamese([text for text, _ in pp])
                header_s = 0.0
                if self._header_fraction > 0 and vietnamese and len(boxes):
                    # Only on Vietnamese pages, where it was measured (docs/measurements.md).
                    th = time.perf_counter()
                    merged = self._header_pass(image, boxes, crops, flips, page_scale)
                    if merged is not None:
                        kept, new_boxes, new_crops, new_flips = merged
                        new_pp_crops = [np.ascontiguousarray(np.rot90(c, 2)) if f else c
                                        for c, f in zip(new_crops, new_flips)]
                        boxes = np.concatenate([boxes[kept], new_boxes]).astype(np.float32).reshape(-1, 4, 2)
                        flips = [flips[i] for i in kept] + new_flips
                        pp_crops = [pp_crops[i] for i in kept] + new_pp_crops
                        pp = [pp[i] for i in kept] + self._pp_read(new_pp_crops)
                    header_s = time.perf_counter() - th
            if self.options.fusion == "ppocr" or not vietnamese:
                # Not a Vietnamese page: a Vietnamese recogniser would only add marks to
                # English/Malay words (measured on SROIE), so keep PP-OCR's reading.
                second: list[list[tuple[str, float]]] = []
            else:
                gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
                second = self._second_read(
                    pp, pp_crops, lambda: [line_image(gray, b, self.options, f) for b, f in zip(boxes, flips)]
                )
            lines = []
            for i, (box, p) in enumerate(zip(boxes, pp)):
                if p[1] < self._rec_threshold:  # same line set as OCR_ENGINE=rapidocr
                    continue
                text, conf = self._combine(p, [r[i] for r in second])
                text = unicodedata.normalize("NFC", text).strip()
                if not text:
                    continue
                quad = tuple((float(x), float(y)) for x, y in box)
                lines.append(TextLine(text=text, confidence=float(conf), box=quad))
            t2 = time.perf_counter()
        except (EngineUnavailable, OcrEngineError, PayloadTooLarge):
            raise
        except Exception as e:
            raise OcrEngineError(f"Hybrid OCR failed: {type(e).__name__}") from e
        turn = page_turn(boxes, bool(flips) and sum(flips) * 2 > len(flips))
        return OcrResult(
            lines=tuple(_reading_order(lines, width, height, turn)),
            width=int(width),
            height=int(height),
            detection_ms=(t1 - t0 + header_s) * 1000.0,
            recognition_ms=(t2 - t1 - header_s) * 1000.0,
            engine=self.name,
        )

    def recognize_crops(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Recognition only: read already cut, upright line images (no detection).

        Args:
            crops: ``(h, w, 3)`` uint8 BGR line images.

        Returns:
            ``(text, confidence)`` per crop, in order.
        """
        import cv2

        crops = [np.ascontiguousarray(c) for c in crops]
        with self._lock:
            pp = self._pp_read(crops)
        if self.options.fusion == "ppocr":
            return pp

        def tess_images():
            images = []
            for c in crops:
                h, w = c.shape[:2]
                quad = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
                images.append(line_image(cv2.cvtColor(c, cv2.COLOR_BGR2GRAY), quad, self.options))
            return images

        second = self._second_read(pp, crops, tess_images)
        return [self._combine(p, [r[i] for r in second]) for i, p in enumerate(pp)]


def page_turn(boxes: np.ndarray, upside_down: bool) -> str:
    """How the page lies in the image, from its line boxes and the orientation vote.

    Args:
        boxes: ``(N, 4, 2)`` line boxes in page pixels.
        upside_down: the lines, cut as RapidOCR cuts them (tall boxes turned 90
            degrees counter-clockwise), were classified upside down.

    Returns:
        ``upright``, ``180``, ``left`` (page turned 90 degrees counter-clockwise:
        its top is at the image's left) or ``right`` (top at the right).
    """
    if len(boxes) == 0:
        return "upright"
    widths = np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)
    heights = np.linalg.norm(boxes[:, 3] - boxes[:, 0], axis=1)
    if np.count_nonzero(heights >= 1.5 * widths) * 2 > len(boxes):
        return "left" if upside_down else "right"
    return "180" if upside_down else "upright"


def _reading_order(lines: list[TextLine], width: int, height: int, turn: str = "upright") -> list[TextLine]:
    """Reading order of the page as it reads upright (see :func:`page_turn`);
    the boxes stay in image pixels."""
    to_upright = {
        "upright": None,
        "180": lambda x, y: (width - x, height - y),
        "left": lambda x, y: (height - y, x),
        "right": lambda x, y: (y, width - x),
    }[turn]
    if to_upright is None:
        return sort_reading_order(lines)
    turned = [TextLine(ln.text, ln.confidence, tuple(to_upright(x, y) for x, y in ln.box)) for ln in lines]
    back = {id(t): ln for ln, t in zip(lines, turned)}
    return [back[id(t)] for t in sort_reading_order(turned)]


def check_hybrid(recogniser: str = "aster") -> list[Requirement]:
    """The hybrid engine: RapidOCR's bundled models plus its second recogniser:
    AsterNet's model files in the ``asterocr`` wheel, and/or (``tesseract``) the
    tesseract binary and its ``vie`` traineddata (Debian: tesseract-ocr, tesseract-ocr-vie)."""
    import shutil

    from app.ocr.rapid import check_rapidocr

    reqs = check_rapidocr()
    if "aster" in recogniser:
        from app.errors import EngineUnavailable
        from app.ocr.aster import INSTALL_HINT, MODEL_FILE, VOCAB_FILE, asset_dir

        try:
            folder = asset_dir()
        except EngineUnavailable:
            folder = None
        for name in (MODEL_FILE, VOCAB_FILE):
            path = folder / name if folder else None
            ok = path is not None and path.is_file()
            reqs.append(Requirement(f"AsterNet {name}", ok, str(path) if ok else "asterocr not installed or file missing",
                                    INSTALL_HINT))
    if "tesseract" in recogniser:
        how = "apt-get install tesseract-ocr tesseract-ocr-vie (./run.sh setup does this when run as root)"
        binary = shutil.which("tesseract")
        reqs.append(Requirement("tesseract binary", binary is not None, binary or "tesseract not on PATH", how))
        found = next((Path(d) / "vie.traineddata" for d in TESSDATA_DIRS
                      if (Path(d) / "vie.traineddata").is_file()), None)
        reqs.append(Requirement("Tesseract vie traineddata", found is not None,
                                str(found) if found else f"not in {', '.join(map(str, TESSDATA_DIRS))}", how))
    return reqs


@register_check("hybrid", "OCR engine hybrid")
def _check(context: CheckContext) -> list[Requirement]:
    return check_hybrid(context.settings.ocr_recogniser)
