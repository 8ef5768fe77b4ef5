"""Tesseract as a second line recogniser for :mod:`app.ocr.hybrid`: finding its traineddata,
and reading batches of line images through the ``tesseract`` command or the tesserocr binding.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np

from app.errors import EngineUnavailable, OcrEngineError

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


def check_tesseract() -> list:
    """Tesseract as the second recogniser needs: the ``tesseract`` binary and the ``vie``
    traineddata in one of :data:`TESSDATA_DIRS` (Debian: tesseract-ocr, tesseract-ocr-vie).

    Returns:
        Two :class:`app.requirements.Requirement` entries.
    """
    from app.requirements import Requirement

    how = "apt-get install tesseract-ocr tesseract-ocr-vie (./run.sh setup does this when run as root)"
    binary = shutil.which("tesseract")
    found = next((Path(d) / "vie.traineddata" for d in TESSDATA_DIRS if (Path(d) / "vie.traineddata").is_file()), None)
    return [Requirement("tesseract binary", binary is not None, binary or "tesseract not on PATH", how),
            Requirement("Tesseract vie traineddata", found is not None,
                        str(found) if found else f"not in {', '.join(map(str, TESSDATA_DIRS))}", how)]
