"""Line character error rate of an OCR engine on the shared MC-OCR 2021 receipts.

Usage::

    .venv/bin/python bench/ocr_cer.py [--engine rapidocr|hybrid] [--set KEY=VALUE ...]
                                      [--setting NAME=VALUE ...] [--half all|tune|report]
                                      [--crops] [--limit N] [--json out.json] [--ocr-cache DIR]

Data: ``../shared/data/mcocr2021`` (``images/<id>.jpg`` and ``labels/<id>.json``,
read in place). Each label file has ``segments``: whole printed lines
``{label, text, bbox_xywh}`` (SELLER, ADDRESS, TIMESTAMP, TOTAL_COST lines only;
the other lines of a receipt are not labelled and are not scored).

How a labelled line is scored (page mode, the default):

1. The image bytes go through :func:`app.documents.decode_image` and the engine
   built by :func:`app.ocr.base.create_engine` (``Settings(ocr_engine=NAME)``);
   its ``OcrResult.lines`` are taken in the order the engine returns them
   (reading order, :func:`app.domain.sort_reading_order`).
2. Texts are normalised the same way on both sides: Unicode NFC, runs of
   whitespace collapsed to one space, leading/trailing spaces removed. Case and
   punctuation are kept (they count as errors).
3. Candidates for a label are: every OCR line alone, every pair of consecutive
   OCR lines joined by one space (a label split in two by the detector), and the
   empty string (the label was not found at all, so its CER is at most 1).
4. The label's edit count is the smallest Levenshtein distance (unit cost
   insert/delete/substitute, over Unicode code points of the NFC strings) between
   the label and any candidate; ties go to the earliest candidate. One OCR line
   may be the best match of several labels (no one-to-one assignment).
5. Line CER = edits / len(label). Reported: ``micro`` = total edits / total label
   characters over all labelled lines, ``macro`` = mean of the line CERs.
6. Diacritic letters: label characters that are one of the 134 non-ASCII
   Vietnamese letters (a vowel with a tone mark and/or a vowel mark, or đ/Đ: the
   set PP-OCRv6's dictionary covers only 46 of). Recovered = the character is in
   an ``equal`` block of the Levenshtein alignment (``rapidfuzz`` opcodes) of the
   label against its best candidate, i.e. it was read exactly, marks included.
7. Also printed, as a diagnostic only: ``fit`` CER, where the label may match any
   substring of a candidate (semi-global alignment: the candidate's characters
   before and after the matched part are free). It shows how much of the CER
   comes from labels that cover only part of a printed line (e.g. "Ngày: ..."
   labelled inside "Số GD: ... Ngày: ...").
8. The edits are also split by kind (:func:`error_kinds`), each given as a share
   of all label characters so the kinds add up to the micro CER: ``missed``
   (every edit of a label whose line CER is above 50%: not detected, matched
   to the wrong line, or a label covering only part of a printed line), then
   for the other labels ``marks`` (gone once diacritics are removed), ``spaces``
   (gone once spaces are removed too) and ``letters`` (the rest).
9. Seconds per photo = wall time of ``engine.recognize`` (decoding excluded),
   averaged over photos; CPU seconds per photo = CPU time of this process (all
   threads; child processes of ``backend=cli`` not counted) over the same
   calls, which depends less on other load on the machine. The engine's own
   ``detection_ms``/``recognition_ms`` means are printed beside them. The first
   photo includes RapidOCR's lazy model loading (as the service's first request
   does).

Crops mode (``--crops``) separates recognition from detection: each labelled
line is cut from the decoded image by its ``bbox_xywh`` (clipped to the image;
turned 90 degrees counter-clockwise when it is at least 1.5 times taller than
wide, as RapidOCR does) and given to the engine's line recogniser alone; the
result is scored against its own label with steps 2, 5 and 6 (no matching).
Engines: ``rapidocr`` (RapidOCR's PP-OCRv6 ``TextRecognizer`` alone, no
orientation classifier), ``hybrid`` (:meth:`app.ocr.hybrid.HybridOcrEngine.recognize_crops`,
whose ``fusion`` option picks PP-OCR, Tesseract or the fused reading).

Edit distances and alignments use ``rapidfuzz`` (MIT): ``Levenshtein.distance``
and ``Levenshtein.opcodes``.

``--set KEY=VALUE`` passes engine options (only ``hybrid`` has any; see
:class:`app.ocr.hybrid.HybridOptions`), e.g. ``--set fusion=tesseract`` for
Tesseract's reading of PP-OCR's detected lines without fusion.
``--setting NAME=VALUE`` sets a service setting by its environment variable
(parsed and checked by :meth:`app.config.Settings.from_env`, nothing else
read from the environment or ``.env``), e.g. ``--setting
TEXT_DET_UNCLIP_RATIO=2.0`` or ``--setting OCR_HEADER_FRACTION=0.3``.

``--half tune`` / ``--half report`` score one of two fixed halves of the
photos (:func:`half_of`: the parity of the SHA-256 of the image id), so that
settings chosen on one half are reported on the other. The per-label-kind
CER (``cer_by_label``: SELLER, ADDRESS, TIMESTAMP, TOTAL_COST) is printed
too. ``--ocr-cache DIR`` also stores each photo's OCR result where
``bench/readers_eval.py --source cache --ocr-cache DIR`` reads it (the format
and key of ``bench/ocr_cache.py``), so the fields of the same OCR can be
scored without running it again.

Measured (all 61 photos, 355 lines, 6710 label characters, 742 diacritic
letters; 2 CPU cores; rapidocr 3.10, asterocr 1.0.2, Debian bookworm tesseract
5.3.0 + tesseract-ocr-vie; 2026-12-01)::

    engine / options                          CER micro  macro  diacritics
    rapidocr                                    17.47%  16.57%     24.4%
    hybrid --set fusion=aster                   15.98%  15.48%     67.0%
    hybrid --set recogniser=tesseract           13.26%  12.59%     59.0%
    hybrid (fused with AsterNet, the default)   12.09%  11.46%     67.8%

See docs/measurements.md ("Vietnamese text recognition") for the other rows.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import unicodedata
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from rapidfuzz.distance import Levenshtein  # noqa: E402

from app.config import Settings  # noqa: E402
from app.documents import decode_image  # noqa: E402
from app.ocr import base as ocr_base  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "mcocr2021"

# The 134 Vietnamese letters outside ASCII: 12 vowels x 5 tone marks, the 6 marked
# vowels without a tone, and d with stroke; both cases.
_VOWELS = "aăâeêioôơuưy"
_TONES = "\u0300\u0301\u0303\u0309\u0323"
DIACRITIC_LETTERS = frozenset(
    unicodedata.normalize("NFC", v + t).upper() if upper else unicodedata.normalize("NFC", v + t)
    for v in _VOWELS
    for t in ("",) + tuple(_TONES)
    for upper in (False, True)
    if not (t == "" and v.isascii())
) | {"đ", "Đ"}
assert len(DIACRITIC_LETTERS) == 134


def normalize(text: str) -> str:
    """NFC, whitespace runs collapsed to one space, stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def candidates(texts: list[str]) -> list[str]:
    """Every line, every pair of consecutive lines joined by a space, and ""."""
    texts = [normalize(t) for t in texts]
    out = list(texts)
    out += [f"{a} {b}" for a, b in zip(texts, texts[1:])]
    out.append("")
    return out


def best_match(label: str, cands: list[str]) -> tuple[str, int]:
    """The candidate with the fewest edits to ``label`` (first one on ties)."""
    best, best_d = "", len(label)
    for cand in cands:
        d = Levenshtein.distance(label, cand, score_cutoff=best_d)
        if d < best_d:
            best, best_d = cand, d
            if d == 0:
                break
    return best, best_d


def fit_distance(label: str, hyp: str, cutoff: int | None = None) -> int:
    """Fewest edits turning some substring of ``hyp`` into ``label`` (semi-global Levenshtein)."""
    n = len(label)
    if not hyp:
        return n
    prev = [0] * (len(hyp) + 1)  # free start anywhere in hyp
    for i, a in enumerate(label, 1):
        cur = [i] + [0] * len(hyp)
        for j, b in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b))
        prev = cur
        if cutoff is not None and min(prev) >= cutoff:
            return cutoff
    return min(prev)  # free end anywhere in hyp


def best_fit(label: str, cands: list[str], limit: int) -> int:
    """Smallest :func:`fit_distance` of ``label`` over ``cands`` (at most ``limit``)."""
    best = limit
    for cand in cands:
        if best == 0:
            break
        if len(label) - len(cand) >= best:
            continue
        best = min(best, fit_distance(label, cand, cutoff=best))
    return best


def diacritics_recovered(label: str, hyp: str) -> tuple[int, int]:
    """(diacritic letters of ``label`` read exactly in ``hyp``, diacritic letters in ``label``)."""
    total = sum(ch in DIACRITIC_LETTERS for ch in label)
    if total == 0:
        return 0, 0
    kept = 0
    for tag, i1, i2, _j1, _j2 in Levenshtein.opcodes(label, hyp):
        if tag == "equal":
            kept += sum(ch in DIACRITIC_LETTERS for ch in label[i1:i2])
    return kept, total


def error_kinds(label: str, hyp: str, edits: int) -> dict[str, int]:
    """Split one label's ``edits`` into kinds (they add up to ``edits``).

    ``missed``: all edits of a label whose line CER is above 0.5 (not
    detected, or its best match is another line, or the label covers only part
    of a printed line); otherwise ``marks``: edits that disappear when
    diacritics are removed from both sides (:func:`app.ocr.fusion.strip_marks`),
    ``spaces``: edits that then disappear when spaces are removed too, and
    ``letters``: the rest (base letters, digits and punctuation).
    """
    from app.ocr.fusion import strip_marks

    if edits > 0.5 * max(len(label), 1):
        return {"missed": edits, "letters": 0, "spaces": 0, "marks": 0}
    bare_l, bare_h = strip_marks(label), strip_marks(hyp)
    no_marks = Levenshtein.distance(bare_l, bare_h)
    no_spaces = Levenshtein.distance(bare_l.replace(" ", ""), bare_h.replace(" ", ""))
    return {"missed": 0, "letters": min(no_spaces, edits), "spaces": max(0, min(no_marks, edits) - no_spaces),
            "marks": max(0, edits - no_marks)}


@dataclass
class Totals:
    """Running sums over scored lines and photos."""

    lines: int = 0
    chars: int = 0
    edits: int = 0
    fit_edits: int = 0
    cer_sum: float = 0.0
    dia_kept: int = 0
    dia_total: int = 0
    photos: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    detection_ms: float = 0.0
    recognition_ms: float = 0.0
    worst: list = field(default_factory=list)
    kinds: dict = field(default_factory=lambda: {"missed": 0, "letters": 0, "spaces": 0, "marks": 0})

    def add_line(self, image_id: str, label: str, hyp: str, edits: int, fit_edits: int | None = None) -> dict:
        kept, total = diacritics_recovered(label, hyp)
        cer = edits / max(len(label), 1)
        self.lines += 1
        self.chars += len(label)
        self.edits += edits
        self.fit_edits += edits if fit_edits is None else fit_edits
        self.cer_sum += cer
        self.dia_kept += kept
        self.dia_total += total
        for kind, n in error_kinds(label, hyp, edits).items():
            self.kinds[kind] += n
        row = {"image": image_id, "label": label, "ocr": hyp, "edits": edits, "cer": round(cer, 4)}
        self.worst.append(row)
        return row

    def summary(self) -> dict:
        out = {
            "lines": self.lines,
            "label_chars": self.chars,
            "edits": self.edits,
            "cer_micro": self.edits / max(self.chars, 1),
            "cer_macro": self.cer_sum / max(self.lines, 1),
            "fit_cer_micro": self.fit_edits / max(self.chars, 1),
            "diacritic_letters": self.dia_total,
            "diacritics_recovered": self.dia_kept / max(self.dia_total, 1),
            "photos": self.photos,
            "cer_by_kind": {k: v / max(self.chars, 1) for k, v in self.kinds.items()},
        }
        if self.photos:
            out["seconds_per_photo"] = self.seconds / self.photos
            out["cpu_seconds_per_photo"] = self.cpu_seconds / self.photos
            out["detection_ms_mean"] = self.detection_ms / self.photos
            out["recognition_ms_mean"] = self.recognition_ms / self.photos
        return out


def half_of(image_id: str) -> str:
    """``tune`` or ``report``: a fixed split of the photos by the SHA-256 of their id
    (the same rule as ``bench/readers_eval.py``'s ``half_of``)."""
    return "tune" if int(hashlib.sha256(image_id.encode()).hexdigest(), 16) % 2 == 0 else "report"


def parse_options(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def build_settings(name: str, overrides: dict[str, str] | None = None) -> Settings:
    """Settings with engine ``name`` and the ``NAME=VALUE`` overrides (environment
    variable names, parsed by :meth:`Settings.from_env`; nothing else is read).

    Raises:
        SystemExit: a name that is no setting's variable, or a bad value.
    """
    from app.config import ConfigError

    env = {"OCR_ENGINE": name, **(overrides or {})}
    try:
        settings = Settings.from_env(env, dotenv=False)
    except ConfigError as e:
        raise SystemExit(str(e)) from None
    unknown = [k for k in env if k.lower() not in {f.name for f in fields(Settings)}]
    if unknown:
        raise SystemExit(f"unknown setting(s) {unknown}: give environment variable names, e.g. TEXT_DET_THRESH")
    return settings


def build_engine(name: str, options: dict[str, str], settings: Settings | None = None):
    """The engine ``name`` through the registry; ``hybrid`` options go to its constructor."""
    settings = settings or Settings(ocr_engine=name)
    if name == "hybrid":
        from app.ocr.hybrid import HybridOcrEngine, HybridOptions  # registers "hybrid"

        if options:
            known = {f.name: f.type for f in fields(HybridOptions)}
            unknown = set(options) - set(known)
            if unknown:
                raise SystemExit(f"unknown hybrid option(s) {sorted(unknown)}; known: {sorted(known)}")
            return HybridOcrEngine(settings, options=HybridOptions.parse(options))
        if name not in ocr_base._ENGINE_MODULES:  # not yet listed in app.ocr.base
            return ocr_base._REGISTRY[name](settings)
    elif options:
        raise SystemExit(f"engine {name!r} takes no --set options")
    return ocr_base.create_engine(settings)


def crop_reader(engine):
    """``crop (H, W, 3) BGR -> text`` for recognition-only (crops) mode."""
    if hasattr(engine, "recognize_crops"):
        return lambda crop: engine.recognize_crops([crop])[0][0]
    if engine.name == "rapidocr":
        from rapidocr.ch_ppocr_rec import TextRecInput

        def read(crop):
            with engine._lock:  # bench only: RapidOCR's own recogniser, no detection
                rec = engine._ocr._load_rec_model()
                out = rec(TextRecInput(img=[crop], return_word_box=False))
            return str(out.txts[0]) if out.txts else ""

        return read
    raise SystemExit(f"engine {engine.name!r} has no recognition-only mode")


def label_crop(image: np.ndarray, bbox_xywh) -> np.ndarray | None:
    x, y, w, h = (int(round(v)) for v in bbox_xywh)
    H, W = image.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    crop = image[y0:y1, x0:x1]
    if crop.shape[0] >= 1.5 * crop.shape[1]:
        crop = np.ascontiguousarray(np.rot90(crop))
    return crop


def run(args) -> dict:
    image_ids = sorted(p.stem for p in (DATA / "labels").glob("*.json"))
    if args.half != "all":
        image_ids = [i for i in image_ids if half_of(i) == args.half]
    if args.limit:
        image_ids = image_ids[: args.limit]
    settings = build_settings(args.engine, parse_options(args.setting))
    engine = build_engine(args.engine, parse_options(args.set), settings)
    reader = crop_reader(engine) if args.crops else None
    store = None
    if args.ocr_cache:
        import importlib.util

        spec = importlib.util.spec_from_file_location("docextract_ocr_cache", Path(__file__).with_name("ocr_cache.py"))
        ocr_cache = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ocr_cache)
        to_json = ocr_cache.to_json
        store = ocr_cache.CachingOcrEngine(engine, args.ocr_cache)
    totals = Totals()
    by_label: dict[str, list[int]] = {}
    for n, image_id in enumerate(image_ids, 1):
        label_doc = json.loads((DATA / "labels" / f"{image_id}.json").read_text(encoding="utf-8"))
        image = decode_image((DATA / "images" / f"{image_id}.jpg").read_bytes(), max_bytes=10**9, max_pixels=10**9)
        segments = [s for s in label_doc["segments"] if normalize(s["text"])]
        if args.crops:
            start, cpu_start = time.perf_counter(), time.process_time()
            hyps = [reader(c) if c is not None else "" for c in (label_crop(image, s["bbox_xywh"]) for s in segments)]
            totals.seconds += time.perf_counter() - start
            totals.cpu_seconds += time.process_time() - cpu_start
            for seg, hyp in zip(segments, hyps):
                label, hyp = normalize(seg["text"]), normalize(hyp)
                totals.add_line(image_id, label, hyp, Levenshtein.distance(label, hyp))
            totals.photos += 1
        else:
            start, cpu_start = time.perf_counter(), time.process_time()
            result = engine.recognize(image)
            totals.seconds += time.perf_counter() - start
            totals.cpu_seconds += time.process_time() - cpu_start
            totals.photos += 1
            totals.detection_ms += result.detection_ms
            totals.recognition_ms += result.recognition_ms
            if store is not None:
                path = store.dir / f"{store.key(image)}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(to_json(result), ensure_ascii=False), encoding="utf-8")
            cands = candidates([ln.text for ln in result.lines])
            for seg in segments:
                label = normalize(seg["text"])
                hyp, edits = best_match(label, cands)
                row = totals.add_line(image_id, label, hyp, edits, best_fit(label, cands, edits))
                row["kind"] = seg.get("label", "")
                sums = by_label.setdefault(row["kind"], [0, 0])
                sums[0] += edits
                sums[1] += len(label)
        if args.verbose:
            print(f"[{n}/{len(image_ids)}] {image_id}", file=sys.stderr, flush=True)
    summary = totals.summary()
    summary.update(
        engine=args.engine, options=parse_options(args.set), settings=parse_options(args.setting),
        half=args.half, mode="crops" if args.crops else "page",
        cer_by_label={k: e / max(n, 1) for k, (e, n) in sorted(by_label.items())},
    )
    if hasattr(engine, "describe"):
        summary["describe"] = engine.describe()
    worst = sorted(totals.worst, key=lambda r: (-r["edits"], r["image"]))
    return {"summary": summary, "lines": totals.worst, "worst": worst[: args.show_worst]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", default="rapidocr", help="rapidocr, hybrid, ... (default rapidocr)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="engine option (hybrid)")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="service setting by environment variable name, e.g. TEXT_DET_UNCLIP_RATIO=2.0")
    parser.add_argument("--half", choices=["all", "tune", "report"], default="all",
                        help="score one fixed half of the photos (see half_of)")
    parser.add_argument("--ocr-cache", type=Path, metavar="DIR",
                        help="also store each photo's OCR result here (bench/ocr_cache.py format)")
    parser.add_argument("--crops", action="store_true", help="recognition only, on the labelled line crops")
    parser.add_argument("--limit", type=int, default=0, help="first N images (sorted by id); 0 = all")
    parser.add_argument("--json", type=Path, help="write summary and every scored line here")
    parser.add_argument("--show-worst", type=int, default=10, help="print the N lines with most edits")
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    if not (DATA / "labels").is_dir():
        raise SystemExit(f"MC-OCR data not found at {DATA}")

    report = run(args)
    s = report["summary"]
    opts = " ".join(f"{k}={v}" for k, v in {**s["options"], **s["settings"]}.items())
    print(f"engine={s['engine']} {opts} mode={s['mode']} half={s['half']}".replace("  ", " "))
    print(f"photos={s['photos']} lines={s['lines']} label_chars={s['label_chars']}")
    print(f"CER micro={s['cer_micro']:.2%} macro={s['cer_macro']:.2%} (edits={s['edits']}); "
          f"diagnostic fit CER micro={s['fit_cer_micro']:.2%}")
    print(f"diacritic letters recovered={s['diacritics_recovered']:.1%} of {s['diacritic_letters']}")
    print("CER by kind: " + ", ".join(f"{k} {v:.2%}" for k, v in s["cer_by_kind"].items())
          + " (missed: lines with CER > 50%; then tone marks, spaces, other letters)")
    if s.get("cer_by_label"):
        print("CER by label: " + ", ".join(f"{k} {v:.2%}" for k, v in s["cer_by_label"].items()))
    if "seconds_per_photo" in s:
        timing = f"seconds/photo={s['seconds_per_photo']:.2f} cpu_seconds/photo={s['cpu_seconds_per_photo']:.2f}"
        if s["mode"] == "page":
            timing += f" (detection {s['detection_ms_mean']:.0f} ms, recognition {s['recognition_ms_mean']:.0f} ms)"
        print(timing)
    for row in report["worst"]:
        print(f"  {row['edits']:3d} {row['image']}: {row['label']!r} <- {row['ocr']!r}")
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
