"""The key–value reader's candidate ranker: logistic regression over named features.

``p = 1 / (1 + exp(-(w · x)))`` with ``x`` the feature dict of
:func:`app.extraction.readers.keyvalue.features` (missing features are 0) and ``w``
the weights in ``app/extraction/models/kv_ranker.json``, trained by
``bench/train_kv_ranker.py`` (L2-regularised logistic regression, full-batch
gradient descent; Hastie, Tibshirani & Friedman, *The Elements of Statistical
Learning*, §4.4) on synthetic invoices and orders rendered by test code
(``tests/synthetic/kv_invoices.py``), never on the evaluation corpora. The file
records its training set, seed and held-out accuracy; its SHA-256 is checked at
load. Pure Python at inference (a few hundred multiplications per document).
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import lru_cache
from pathlib import Path

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "kv_ranker.json"
#: SHA-256 of the shipped model file (update with the file; ``bench/train_kv_ranker.py`` prints it).
MODEL_SHA256 = "25912520e5949f71e8c450c6fead0fd0df30ef442e5809a1e30986eb139735dc"


class Ranker:
    """Logistic regression over a name -> value feature dict.

    Args:
        weights: feature name -> weight (``bias`` included as a feature of value 1).
        meta: what the model was trained on (informational).
    """

    def __init__(self, weights: dict[str, float], meta: dict | None = None):
        self.weights = dict(weights)
        self.meta = meta or {}

    def score(self, features: dict[str, float]) -> float:
        """Probability in (0, 1) that the candidate is the field's value."""
        z = sum(self.weights.get(k, 0.0) * v for k, v in features.items())
        z = max(-30.0, min(30.0, z))
        return 1.0 / (1.0 + math.exp(-z))

    def to_json(self) -> str:
        return json.dumps({"format": "docextract-kv-ranker/1", "meta": self.meta,
                           "weights": {k: round(v, 6) for k, v in sorted(self.weights.items())}}, indent=1)

    @classmethod
    def load(cls, path: Path = MODEL_PATH, sha256: str | None = MODEL_SHA256) -> "Ranker":
        """Read a model file.

        Raises:
            FileNotFoundError: no such file.
            ValueError: its SHA-256 is not ``sha256`` (when given) or the format is unknown.
        """
        raw = Path(path).read_bytes()
        if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
            raise ValueError(f"{path}: SHA-256 {hashlib.sha256(raw).hexdigest()} is not the expected {sha256}")
        data = json.loads(raw)
        if data.get("format") != "docextract-kv-ranker/1":
            raise ValueError(f"{path}: not a key-value ranker model")
        return cls(data["weights"], data.get("meta"))


@lru_cache(maxsize=1)
def default_ranker() -> Ranker:
    """The shipped model (loaded once per process)."""
    return Ranker.load()
