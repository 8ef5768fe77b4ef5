"""Quantise an AsterNet-contract ONNX model to int8 and check that accuracy holds.

Usage::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python tools/quantise_recogniser.py \\
        --model /tmp/rec-run/asternet-ft.onnx --out /tmp/rec-run/asternet-ft.int8.onnx

Dynamic int8 quantisation (``onnxruntime.quantization.quantize_dynamic``:
weights stored as signed 8-bit per output channel, activations quantised at run
time) of the ``MatMul``, ``Gemm`` and ``LSTM`` nodes by default. ``Conv`` is left
out: ONNX Runtime's ``ConvInteger`` made AsterNet 3.6 times slower on CPU
(measured: 2.23 s against 0.62 s of CPU for 8 lines of 320 x 32 px), while int8
``MatMul``/``LSTM`` are no slower. With ``--conv-fp16`` (default) the convolution
weights are stored as float16 behind a ``Cast`` to float32, which ONNX Runtime
folds into a float32 constant when it loads the model, so the file is smaller and
inference is unchanged. Then
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


def conv_weights_fp16(path: Path) -> int:
    """Store the float32 weight initializers of ``Conv`` nodes as float16 with a ``Cast`` back
    to float32 (in place). ONNX Runtime folds the casts at load time. Returns how many."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    casts, done = [], set()
    for node in graph.node:
        if node.op_type != "Conv" or len(node.input) < 2 or node.input[1] in done:
            continue
        name = node.input[1]
        tensor = inits.get(name)
        if tensor is None or tensor.data_type != TensorProto.FLOAT:
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), f"{name}/fp16")
        graph.initializer.remove(tensor)
        graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [half.name], [name], to=TensorProto.FLOAT, name=f"{name}/cast"))
        done.add(name)
    for i, cast in enumerate(casts):
        graph.node.insert(i, cast)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return len(casts)


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
    parser.add_argument("--ops", default="MatMul,Gemm,LSTM", help="node types to quantise")
    parser.add_argument("--conv-fp16", action=argparse.BooleanOptionalAction, default=True,
                        help="store Conv weights as float16 (cast back at load)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)

    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(args.model), str(args.out), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=[x for x in args.ops.split(",") if x])
    halved = conv_weights_fp16(args.out) if args.conv_fp16 else 0
    vocab = args.model.parent / VOCAB_FILE
    if not vocab.is_file():
        vocab = asset_dir() / VOCAB_FILE
    if not (args.out.parent / VOCAB_FILE).is_file():
        shutil.copyfile(vocab, args.out.parent / VOCAB_FILE)
    select, report = mcocr_split()
    splits = {"select": mcocr_crops(select), "report": mcocr_crops(report)}
    result = {"fp32": measure(args.model, splits), "int8": measure(args.out, splits), "ops": args.ops,
              "conv_weights_fp16": halved}
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
