"""Vietnamese line recogniser: AsterNet (the ``asterocr`` wheel) on ONNX Runtime.

AsterNet is a CTC line recogniser (convolutional backbone + BiLSTM +
self-attention, 10.6 M parameters) trained for Vietnamese print; its 226-symbol
alphabet holds all 134 Vietnamese letters with diacritics, upper and lower
case, digits and common punctuation. The ``asterocr`` wheel (MIT licence, per
its PyPI metadata and README) bundles the exported model
``asterocr/assets/asternet.onnx`` and its alphabet ``assets/vocab.json``.

Only those two files are used: the package's Python code is never imported (its
``AsterOCR`` class falls back to a Hugging Face download when the bundled file
is missing, and we never download at run time). If the files are not there,
:class:`AsterRecognizer` refuses to start.

Model contract (read off the ONNX graph and the package's own pipeline):
input ``images`` ``(N, 3, 32, W)`` float32 RGB scaled to ``[0, 1]``, ``W`` a
multiple of 4; output ``log_probs`` ``(W / 4, N, 227)`` log-softmax over
``<blank>`` (index 0) + the alphabet. Greedy CTC decoding (Graves et al.,
"Connectionist Temporal Classification", ICML 2006): best class per frame,
repeats collapsed, blanks removed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import unicodedata
from pathlib import Path
from typing import Sequence

import numpy as np

from app.errors import EngineUnavailable

log = logging.getLogger(__name__)

PACKAGE = "asterocr"
MODEL_FILE = "asternet.onnx"
VOCAB_FILE = "vocab.json"
INSTALL_HINT = "pip install asterocr==1.0.2 (pinned in requirements.txt)"
HEIGHT = 32  # input height the model was trained at
# The model's positional encoding holds 256 frames (one per 4 input columns): a wider
# batch fails in ONNX Runtime ("Attempting to broadcast an axis ... 256 by 551").
MAX_WIDTH = 256 * 4


def asset_dir() -> Path:
    """Folder of the model files inside the installed ``asterocr`` wheel (found without importing it).

    Raises:
        EngineUnavailable: the package is not installed.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(f"the Vietnamese recogniser needs the '{PACKAGE}' package: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations))) / "assets"


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ctc_greedy_decode(log_probs: np.ndarray, alphabet: Sequence[str], frames: int | None = None) -> tuple[str, float]:
    """Greedy (best-path) CTC decoding of one line (Graves et al., ICML 2006).

    Args:
        log_probs: ``(T, C)`` log-probabilities per frame; class 0 is the blank
            and class ``k`` is ``alphabet[k]``.
        alphabet: symbols by class index (index 0, the blank, is never emitted).
        frames: how many leading frames belong to the line (the rest is
            padding); None: all.

    Returns:
        ``(text, confidence)``: the best class per frame with repeats collapsed
        and blanks removed, whitespace runs made one space, Unicode NFC; the
        confidence is the geometric mean of the emitted symbols' probabilities
        (0.0 when nothing was read).
    """
    lp = np.asarray(log_probs)[: frames if frames is not None else None]
    best = lp.argmax(axis=1)
    chars, scores = [], []
    previous = -1
    for t, k in enumerate(best):
        k = int(k)
        if k != previous and k != 0:
            chars.append(alphabet[k])
            scores.append(float(lp[t, k]))
        previous = k
    if not chars:
        return "", 0.0
    text = unicodedata.normalize("NFC", " ".join("".join(chars).split()))
    return text, float(np.exp(np.mean(scores)))


class AsterRecognizer:
    """Reads upright, cut-out text lines with AsterNet.

    Args:
        threads: ONNX Runtime intra-op threads (0 = library default).
        batch_size: lines per inference call; lines are batched by width so
            little padding is added.
        model_dir: folder holding ``asternet.onnx`` and ``vocab.json``
            (default: the installed wheel's ``assets``).
        model_path: another ONNX model with AsterNet's contract (a retrained
            AsterNet, ``tools/train_recogniser.py``) instead of ``asternet.onnx``;
            its alphabet is the ``vocab.json`` beside it, else the one in
            ``model_dir``.
        sha256: expected hex SHA-256 of the model file, checked before loading.

    Raises:
        EngineUnavailable: package, model file or alphabet missing, the
            checksum differs, or the model does not load.
    """

    def __init__(self, threads: int = 0, batch_size: int = 8, model_dir: Path | None = None,
                 model_path: Path | None = None, sha256: str | None = None):
        if model_path is not None:
            model = Path(model_path)
            beside = model.parent / VOCAB_FILE
            vocab = beside if beside.is_file() else (Path(model_dir) if model_dir is not None else asset_dir()) / VOCAB_FILE
        else:
            folder = Path(model_dir) if model_dir is not None else asset_dir()
            model, vocab = folder / MODEL_FILE, folder / VOCAB_FILE
        missing = [str(p) for p in (model, vocab) if not p.is_file()]
        if missing:
            raise EngineUnavailable(f"AsterNet files missing: {', '.join(missing)}; reinstall: {INSTALL_HINT}")
        if sha256 is not None:
            got = file_sha256(model)
            if got != sha256.lower():
                raise EngineUnavailable(f"recogniser model {model} has SHA-256 {got}, expected {sha256}: "
                                        "the file is damaged or not the one this version ships")
        try:
            import onnxruntime as ort

            self.alphabet: list[str] = json.loads(vocab.read_text(encoding="utf-8"))["chars"]
            options = ort.SessionOptions()
            # Lines come in every width: ONNX Runtime's memory arena would keep the largest
            # batch's buffers and grow (measured: peak RSS 1.18 GB with it, 0.70 GB without,
            # over 20 receipts); RapidOCR turns it off for its own sessions too.
            options.enable_cpu_mem_arena = False
            if threads:
                options.intra_op_num_threads = threads
            options.log_severity_level = 3
            self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        except (ImportError, OSError, ValueError, KeyError, RuntimeError) as e:
            raise EngineUnavailable(f"AsterNet model {model} does not load: {e}") from e
        classes = self._session.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and classes != len(self.alphabet):
            raise EngineUnavailable(f"AsterNet: model has {classes} classes, alphabet {len(self.alphabet)}")
        self._input = self._session.get_inputs()[0].name
        self.batch_size = max(1, int(batch_size))
        self.model_path = model
        self._from_wheel = model_path is None and model_dir is None
        log.info("AsterNet recogniser loaded from %s", model)

    @staticmethod
    def prepare(image: np.ndarray) -> np.ndarray:
        """One line image as the model's input row.

        Args:
            image: ``(h, w, 3)`` uint8 BGR (OpenCV order) or ``(h, w)`` grey,
                upright, cut tightly around one text line.

        Returns:
            ``(3, 32, W)`` float32 RGB in ``[0, 1]``, ``W`` a multiple of 4
            (at least 32) keeping the aspect ratio.
        """
        import cv2

        if image.ndim == 2:
            rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        else:
            rgb = cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        width = max(32, int(w * HEIGHT / max(h, 1)))
        width = (width + 3) // 4 * 4
        interp = cv2.INTER_AREA if h > HEIGHT else cv2.INTER_LINEAR
        resized = cv2.resize(rgb, (width, HEIGHT), interpolation=interp)
        return resized.astype(np.float32).transpose(2, 0, 1) / 255.0

    def read(self, images: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """Read line images.

        Args:
            images: upright line images, see :meth:`prepare`.

        Returns:
            ``(text, confidence in [0, 1])`` per image, in order; ``("", 0.0)``
            for a line wider than ``MAX_WIDTH`` once resized to 32 px high.
        """
        rows = [self.prepare(img) for img in images]
        out: list[tuple[str, float]] = [("", 0.0)] * len(rows)
        # A line over MAX_WIDTH columns at 32 px high (aspect over 1:32) is beyond the model:
        # it is not read here (``("", 0.0)``), and the fusion keeps PP-OCR's reading of it.
        order = sorted((i for i in range(len(rows)) if rows[i].shape[2] <= MAX_WIDTH), key=lambda i: rows[i].shape[2])
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            width = max(rows[i].shape[2] for i in chunk)
            batch = np.ones((len(chunk), 3, HEIGHT, width), dtype=np.float32)  # white padding on the right
            for n, i in enumerate(chunk):
                batch[n, :, :, : rows[i].shape[2]] = rows[i]
            log_probs = self._session.run(None, {self._input: batch})[0]  # Run is thread-safe
            for n, i in enumerate(chunk):
                out[i] = ctc_greedy_decode(log_probs[:, n, :], self.alphabet, rows[i].shape[2] // 4)
        return out

    def describe(self) -> str:
        if self._from_wheel:
            return f"AsterNet ({PACKAGE} wheel, {self.model_path.name})"
        return f"AsterNet ({self.model_path})"
