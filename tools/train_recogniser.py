"""Fine-tune AsterNet on synthetic Vietnamese receipt lines, on CPU, within a time budget.

Usage::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python tools/train_recogniser.py \\
        --out /tmp/rec-run --train-lines 2000 --minutes 15 --seed 0 [--cut backbone]

What it does (docs/recogniser-training.md has the measured runs):

1. Loads AsterNet's ONNX file from the ``asterocr`` wheel (MIT) as a trainable
   PyTorch module (:mod:`tools.recogniser.aster_torch`) and checks that it gives
   the ONNX Runtime outputs on a test batch (max difference printed, must be
   under ``1e-3``).
2. Renders ``--train-lines`` synthetic lines (:class:`tools.recogniser.dataset.SyntheticLines`,
   seed ``--data-seed``), prepares them exactly as the service does
   (:meth:`app.ocr.aster.AsterRecognizer.prepare`: RGB, 32 px high, width a
   multiple of 4) and groups them into fixed batches of similar width (white
   padding on the right, as at run time).
3. ``--cut backbone`` freezes the convolutional backbone and caches its features
   for every batch once, so each step only runs the BiLSTM, the transformer and
   the classifier (about 3x cheaper); ``--cut none`` trains everything.
4. Trains with CTC loss (Graves et al., 2006; blank 0, per-line input length =
   its own width / 4), AdamW, gradient clipping, batches in a seeded random
   order each epoch, until ``--minutes`` of CPU time of this process
   (``time.process_time``: on a shared machine wall time says more about the
   neighbours than about the training), ``--wall-minutes``, ``--max-steps`` or
   SIGTERM/SIGINT, whichever comes first (a signal still evaluates and writes the model).
5. Every ``--eval-minutes`` (and at steps 0 and the end) scores greedy CTC
   decoding on the labelled MC-OCR line crops (validation only, never trained
   on), split by photo into ``select`` (chooses the checkpoint, draws the
   curve) and ``report`` (only scored): CER micro (Levenshtein edits / label
   characters) and tone-marked letters read exactly (as ``bench/ocr_cer.py``).
   Each evaluation is one JSON line in ``<out>/log.jsonl`` with the training
   CPU minutes (``minutes``; evaluation excluded), wall minutes, steps, lines
   seen and mean loss.
6. Writes the best checkpoint by ``select`` CER back into AsterNet's own ONNX
   graph (``<out>/asternet-ft.onnx`` + ``vocab.json``) and ``<out>/summary.json``.

Seeds: ``--seed`` for weights' training order and PyTorch, ``--data-seed`` for the
lines; ``torch.use_deterministic_algorithms(True)`` and one thread make a rerun
give the same losses on the same machine and library versions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.ocr.aster import HEIGHT, MAX_WIDTH, MODEL_FILE, VOCAB_FILE, AsterRecognizer, asset_dir, ctc_greedy_decode  # noqa: E402
from tools.recogniser.dataset import Line, SyntheticLines, mcocr_crops, mcocr_split  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def encode(text: str, index: dict[str, int]) -> list[int]:
    """Class indices of ``text`` (characters outside the alphabet dropped)."""
    return [index[c] for c in text if c in index]


def make_batches(lines: list[Line], index: dict[str, int], batch_size: int,
                 training: bool = True) -> tuple[list[dict], list[str]]:
    """Fixed batches of lines of similar width.

    Args:
        lines: labelled line images.
        index: class index of each alphabet symbol.
        batch_size: lines per batch.
        training: leave out what CTC cannot learn from: lines wider than
            ``MAX_WIDTH`` at 32 px, lines without a symbol of the alphabet, and
            lines with more symbols than it can align (``2 * len + 1 > frames``).
            For validation (False) every line is kept except those wider than
            ``MAX_WIDTH``, which the service does not read either: they are
            returned apart, to be scored as read empty.

    Returns:
        ``(batches, skipped_texts)``: batches are dicts with ``images``
        ``(N, 3, 32, W)`` float32 (white-padded), ``frames`` ``(N,)`` (each
        line's own width / 4), ``targets`` (lists of class indices) and
        ``texts``; ``skipped_texts`` are the labels of the lines left out.
    """
    rows, skipped = [], []
    for ln in lines:
        x = AsterRecognizer.prepare(ln.image)
        target = encode(ln.text, index)
        frames = x.shape[2] // 4
        too_wide = x.shape[2] > MAX_WIDTH
        if too_wide or (training and (not target or len(target) * 2 + 1 > frames)):
            skipped.append(ln.text)
            continue
        rows.append((x, target, ln.text))
    rows.sort(key=lambda r: r[0].shape[2])
    batches = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        width = max(r[0].shape[2] for r in chunk)
        images = np.ones((len(chunk), 3, HEIGHT, width), dtype=np.float32)
        for n, r in enumerate(chunk):
            images[n, :, :, : r[0].shape[2]] = r[0]
        batches.append({
            "images": images,
            "frames": np.array([r[0].shape[2] // 4 for r in chunk], dtype=np.int64),
            "targets": [r[1] for r in chunk],
            "texts": [r[2] for r in chunk],
        })
    return batches, skipped


def score(texts: list[str], hyps: list[str]) -> dict:
    """CER micro and tone-marked letters read exactly (``bench/ocr_cer.py``'s definitions)."""
    from rapidfuzz.distance import Levenshtein

    from bench.ocr_cer import diacritics_recovered, normalize

    edits = chars = kept = total = 0
    for t, h in zip(texts, hyps):
        t, h = normalize(t), normalize(h)
        edits += Levenshtein.distance(t, h)
        chars += len(t)
        k, n = diacritics_recovered(t, h)
        kept, total = kept + k, total + n
    return {"cer": edits / max(chars, 1), "diacritics": kept / max(total, 1), "lines": len(texts)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="run folder (log.jsonl, model, summary)")
    parser.add_argument("--train-lines", type=int, default=2000, help="synthetic lines to train on")
    parser.add_argument("--minutes", type=float, default=15.0, help="training budget, CPU minutes of this process")
    parser.add_argument("--wall-minutes", type=float, default=0.0,
                        help="also stop after this many wall minutes of training (0: no limit)")
    parser.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: budget only)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (batch order, PyTorch)")
    parser.add_argument("--data-seed", type=int, default=0, help="synthetic data seed")
    parser.add_argument("--cut", choices=("none", "backbone"), default="backbone", help="frozen, cached prefix")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--eval-minutes", type=float, default=3.0, help="validation interval, training CPU minutes")
    parser.add_argument("--val", choices=("mcocr", "none"), default="mcocr", help="validation set")
    parser.add_argument("--val-limit", type=int, default=0, help="first N validation photos per split (0: all)")
    parser.add_argument("--threads", type=int, default=1, help="PyTorch threads")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, ...); needs a torch built for it")
    parser.add_argument("--model", type=Path, default=None, help="starting ONNX model (default: asterocr's)")
    args = parser.parse_args(argv)

    import torch

    from tools.recogniser import aster_torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    device = torch.device(args.device)
    # CUDA's CTC loss backward has no deterministic kernel: warn there instead of failing.
    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    source = args.model or asset_dir() / MODEL_FILE
    vocab_path = source.parent / VOCAB_FILE
    alphabet = json.loads(vocab_path.read_text(encoding="utf-8"))["chars"]
    index = {c: i for i, c in enumerate(alphabet) if i > 0}
    net, onnx_model = aster_torch.load_trainable(source)
    net.eval()

    # 1. The converted module must give ONNX Runtime's outputs.
    import onnxruntime as ort

    probe = np.random.default_rng(0).random((2, 3, HEIGHT, 160), dtype=np.float32)
    ref = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"]).run(None, {"images": probe})[0]
    with torch.no_grad():
        diff = float(np.abs(net(torch.from_numpy(probe)).numpy() - ref).max())
    log(f"converted {source.name}: max |torch - onnxruntime| = {diff:.2e}")
    if diff > 1e-3:
        raise SystemExit(f"conversion does not reproduce the ONNX model (max diff {diff})")
    net.to(device)

    # 2. Data.
    t0 = time.time()
    synthetic = SyntheticLines(args.data_seed, alphabet=alphabet[1:])
    train, _ = make_batches(synthetic.take(args.train_lines), index, args.batch_size)
    n_train = sum(len(b["texts"]) for b in train)
    log(f"rendered {args.train_lines} synthetic lines ({n_train} usable) in {time.time() - t0:.0f}s, {len(synthetic.fonts)} fonts")
    val: dict[str, list[dict]] = {}
    val_unread: dict[str, list[str]] = {}  # too wide for the model: scored as read empty, as the service reads them
    if args.val == "mcocr":
        for name, ids in zip(("select", "report"), mcocr_split()):
            ids = ids[: args.val_limit] if args.val_limit else ids
            val[name], val_unread[name] = make_batches(mcocr_crops(ids), index, 16, training=False)

    # 3. Frozen prefix and cached features.
    if args.cut == "none":
        prefix, suffix = None, net
    else:
        prefix, suffix = aster_torch.split(net, args.cut)
        keep = {id(p) for p in aster_torch.graph_parameters(suffix)}
        for p in net.parameters():
            p.requires_grad_(id(p) in keep)
        t0 = time.time()
        with torch.no_grad():
            for b in train + [b for batches in val.values() for b in batches]:
                b["features"] = prefix(torch.from_numpy(b["images"]).to(device))
        log(f"cached {args.cut} features in {time.time() - t0:.0f}s")
    trainable = [p for p in aster_torch.graph_parameters(suffix) if p.requires_grad]
    log(f"training {sum(p.numel() for p in trainable):,} of {sum(p.numel() for p in net.parameters()):,} parameters")

    def forward(b, model):
        x = b["features"] if prefix is not None else torch.from_numpy(b["images"]).to(device)
        return model(x)

    def evaluate() -> dict:
        out = {}
        suffix.eval()
        with torch.no_grad():
            for name, batches in val.items():
                texts, hyps = [], []
                for b in batches:
                    lp = forward(b, suffix).cpu().numpy()
                    for n, frames in enumerate(b["frames"]):
                        hyps.append(ctc_greedy_decode(lp[:, n, :], alphabet, int(frames))[0])
                    texts.extend(b["texts"])
                unread = val_unread.get(name, [])
                out[name] = score(texts + unread, hyps + [""] * len(unread))
        suffix.train()
        return out

    ctc = torch.nn.CTCLoss(blank=0, reduction="mean", zero_infinity=True)
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.0)
    order_rng = random.Random(args.seed)
    log_file = (args.out / "log.jsonl").open("w", encoding="utf-8")
    best = {"cer": float("inf")}
    best_state = None
    step, seen, losses = 0, 0, []
    train_start = time.time()
    budget = args.minutes * 60.0
    next_eval = 0.0
    cpu = {"train": 0.0}  # training CPU seconds (evaluation not counted)

    def checkpoint(final: bool = False):
        nonlocal best, best_state, next_eval
        minutes = cpu["train"] / 60.0
        res = evaluate() if val else {}
        row = {"minutes": round(minutes, 2), "wall_minutes": round((time.time() - train_start) / 60.0, 2),
               "loadavg": round(os.getloadavg()[0], 1), "step": step, "lines_seen": seen, "epochs": round(seen / max(n_train, 1), 2),
               "train_lines": n_train, "loss": round(float(np.mean(losses)), 4) if losses else None,
               **{f"{k}_{m}": round(v[m], 4) for k, v in res.items() for m in ("cer", "diacritics", "lines")}}
        log_file.write(json.dumps(row) + "\n")
        log_file.flush()
        log(" ".join(f"{k}={v}" for k, v in row.items()))
        losses.clear()
        if res and res["select"]["cer"] < best["cer"]:
            best = {"cer": res["select"]["cer"], "row": row}
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        next_eval = minutes + args.eval_minutes

    stop = {"signal": None}

    def on_signal(signum, _frame):  # SIGTERM/SIGINT: finish the step, evaluate, write the model
        stop["signal"] = signum

    import signal

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    suffix.train()
    checkpoint()
    done = False
    while not done:
        order = list(range(len(train)))
        order_rng.shuffle(order)
        for i in order:
            b = train[i]
            tick = time.process_time()
            lp = forward(b, suffix)
            targets = torch.tensor([c for t in b["targets"] for c in t], dtype=torch.long, device=device)
            target_lengths = torch.tensor([len(t) for t in b["targets"]], dtype=torch.long, device=device)
            input_lengths = torch.from_numpy(b["frames"]).to(device)
            loss = ctc(lp, targets, input_lengths, target_lengths)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            step += 1
            seen += len(b["texts"])
            losses.append(loss.item())
            cpu["train"] += time.process_time() - tick
            elapsed = cpu["train"]
            wall_over = args.wall_minutes and time.time() - train_start >= args.wall_minutes * 60.0
            if elapsed >= budget or wall_over or stop["signal"] or (args.max_steps and step >= args.max_steps):
                done = True
                break
            if elapsed / 60.0 >= next_eval:
                checkpoint()
    checkpoint(final=True)
    log_file.close()

    # 6. The chosen weights into AsterNet's own ONNX graph.
    chosen = best.get("row", {"step": step})
    if best_state is not None:
        net.load_state_dict(best_state)
    out_model = args.out / "asternet-ft.onnx"
    info = aster_torch.write_back(net, onnx_model, out_model)
    shutil.copyfile(vocab_path, args.out / VOCAB_FILE)
    summary = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "source_model": str(source),
        "conversion_max_diff": diff,
        "train_lines_usable": n_train,
        "steps": step,
        "lines_seen": seen,
        "train_cpu_minutes": round(cpu["train"] / 60.0, 2),
        "train_wall_minutes": round((time.time() - train_start) / 60.0, 2),
        "total_minutes": round((time.time() - started) / 60.0, 2),
        "chosen": chosen,
        "model": str(out_model),
        "model_bytes": out_model.stat().st_size,
        "initializers_written": info["initializers"],
        "torch": torch.__version__,
        "device": str(device),
        "cpu_count": os.cpu_count(),
        "loadavg": os.getloadavg(),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    log(f"chosen checkpoint: {chosen}; model {out_model} ({summary['model_bytes'] / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
