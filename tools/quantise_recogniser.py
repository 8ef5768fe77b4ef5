"""Quantise an AsterNet-contract ONNX model to int8 and check that accuracy holds.

Usage::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python tools/quantise_recogniser.py \\
        --model /tmp/rec-run/asternet-ft.onnx --out /tmp/rec-run/asternet-ft.int8.onnx

Dynamic int8 quantisation (``onnxruntime.quantization.quantize_dynamic``:
weights stored as signed 8-bit per output channel, activations quantised at run
time) of the ``MatMul``, ``Gemm``, ``LSTM`` and ``Conv`` nodes by default. Then
both models read the labelled MC-OCR line crops through
:class:`app.ocr.aster.AsterRecognizer` (the service's own preprocessing, batching
and greedy CTC decoding) and the script prints, per split of
:func:`tools.recogniser.dataset.mcocr_split`, CER micro and tone-marked letters
read exactly, the file sizes, the SHA-256 of the quantised file and the CPU
seconds per crop. Needs ``onnx`` (requirements-train.txt).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.ocr.aster import VOCAB_FILE, AsterRecognizer, asset_dir, file_sha256  # noqa: E402
from tools.recogniser.dataset import mcocr_crops, mcocr_split  # noqa: E402
from tools.train_recogniser import score  # noqa: E402


def measure(model: Path, splits: dict[str, list]) -> dict:
    """CER and tone-marked letters per split, and CPU seconds per crop, for one model file."""
    rec = AsterRecognizer(threads=1, model_path=model)
    out = {}
    cpu = 0.0
    crops = 0
    for name, lines in splits.items():
        tick = time.process_time()
        hyps = [t for t, _ in rec.read([ln.image for ln in lines])]
        cpu += time.process_time() - tick
        crops += len(lines)
        out[name] = score([ln.text for ln in lines], hyps)
    out["cpu_ms_per_crop"] = 1000.0 * cpu / max(crops, 1)
    out["bytes"] = model.stat().st_size
    out["sha256"] = file_sha256(model)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="fp32 ONNX model (AsterNet contract)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the int8 model")
    parser.add_argument("--ops", default="MatMul,Gemm,LSTM,Conv", help="node types to quantise")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(args.model), str(args.out), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=[x for x in args.ops.split(",") if x])
    vocab = args.model.parent / VOCAB_FILE
    if not vocab.is_file():
        vocab = asset_dir() / VOCAB_FILE
    if not (args.out.parent / VOCAB_FILE).is_file():
        shutil.copyfile(vocab, args.out.parent / VOCAB_FILE)
    select, report = mcocr_split()
    splits = {"select": mcocr_crops(select), "report": mcocr_crops(report)}
    result = {"fp32": measure(args.model, splits), "int8": measure(args.out, splits), "ops": args.ops}
    for kind in ("fp32", "int8"):
        r = result[kind]
        print(f"{kind}: {r['bytes'] / 1e6:.1f} MB, {r['cpu_ms_per_crop']:.0f} CPU ms/crop, "
              + ", ".join(f"{s} CER {r[s]['cer']:.2%} tone-marked {r[s]['diacritics']:.1%} ({r[s]['lines']} lines)"
                          for s in ("select", "report")) + f", sha256 {r['sha256']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
