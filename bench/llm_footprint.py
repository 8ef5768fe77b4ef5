"""Resident memory and latency of the llama.cpp server under extraction prompts, per server setting.

For each configuration (``--config LABEL=FLAGS``; by default ``--logits_all True``, the
server's own default and what ``./run.sh llm`` ran before, and ``--logits_all False``, what
it runs now) this starts
``python -m llama_cpp.server`` as :func:`bench.services.start_llm` does (the
flags of ``./run.sh llm``: the embedded Gemma 3 270M GGUF, 8,192-token context,
``nproc`` threads) plus that configuration's flags, warms it, sends it ``--calls``
base-style field prompts (:class:`app.llm.prompts.PromptBuilder`, as the extractor
asks them) and stops it. The documents are SROIE transcripts
(``../shared/data/sroie/transcripts``, their OCR words one per line); every fifth
prompt joins four of them, a few thousand characters, as a multi-page document
would be, so long prompts come as they do in service. The questions are the four
SROIE fields in turn.

Printed per configuration: the server's RSS (MB, its process and children) after
warm-up, every 25 calls and at the peak (sampled every 0.2 s); median and p90
seconds per call; and how many answers equal the first configuration's (greedy
decoding, temperature 0, so a setting that changes no computation changes no
answer).

Usage::

    nice -n 10 .venv/bin/python bench/llm_footprint.py --calls 100
    nice -n 10 .venv/bin/python bench/llm_footprint.py --config "today=" --config "4k=--n_ctx 4096 --logits_all False"

Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TRANSCRIPTS = ROOT.parent / "shared" / "data" / "sroie" / "transcripts" / "train_transcripts.jsonl"
QUESTIONS = ("name of the company that issued the receipt", "date of the receipt",
             "address of the company", "total amount")
DEFAULT_CONFIGS = ["logits_all True (the server's default; run.sh before)=--logits_all True",
                   "logits_all False (run.sh now)=--logits_all False"]


def documents(calls: int) -> list[str]:
    """``calls`` document texts: transcripts in file order, every fifth four of them joined."""
    texts = []
    with open(TRANSCRIPTS, encoding="utf-8") as fh:
        for line in fh:
            texts.append("\n".join(json.loads(line)["words"]))
            if len(texts) >= 4 * calls:
                break
    out, i = [], 0
    for n in range(calls):
        take = 4 if n % 5 == 4 else 1
        out.append("\n\n".join(texts[(i + k) % len(texts)] for k in range(take)))
        i += take
    return out


def tree_rss_mb(pid: int) -> float:
    """RSS in MB of ``pid`` and its descendants (:func:`bench.services.rss_tree`, summed)."""
    from bench.services import rss_tree

    return sum(rss_tree(pid).values())


def run(label: str, flags: str, prompts: list[str], port: int, log_dir: Path) -> dict:
    """Start the server with ``flags`` (:func:`bench.services.start_llm`, warmed), send
    ``prompts``, stop it; figures and answers."""
    from app.llm.client import LLMClient
    from app.llm.prompts import PromptBuilder
    from bench.services import start_llm, stop as stop_server

    server = start_llm(port, log_dir, extra_args=shlex.split(flags))
    pid = server.proc.pid
    peak = [0.0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss_mb(pid))
            stop.wait(0.2)

    try:
        client = LLMClient(base_url=server.url, model="gemma-3-270m", max_retries=0)
        rss = {"after warm-up": round(tree_rss_mb(pid))}
        threading.Thread(target=sample, daemon=True).start()
        answers, seconds = [], []
        builder = PromptBuilder("base")
        for n, (document, question) in enumerate(prompts, 1):
            prompt = builder.field_prompt(document, question)
            t0 = time.perf_counter()
            answers.append(client.complete(prompt, max_tokens=64, timeout=300))
            seconds.append(time.perf_counter() - t0)
            if n % 25 == 0:
                rss[f"after {n} calls"] = round(tree_rss_mb(pid))
                print(f"  {label}: {n} calls, RSS {rss[f'after {n} calls']} MB", file=sys.stderr)
        stop.set()
        return {"label": label, "flags": flags, "rss_mb": rss, "peak_rss_mb": round(peak[0]),
                "median_s": round(statistics.median(seconds), 3),
                "p90_s": round(statistics.quantiles(seconds, n=10)[-1], 3) if len(seconds) > 1 else seconds[0],
                "answers": answers}
    finally:
        stop.set()
        stop_server(server)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--config", action="append", help="LABEL=extra server flags (repeatable)")
    ap.add_argument("--port", type=int, default=18140)
    ap.add_argument("--json", help="write the figures (without the answers) here")
    args = ap.parse_args(argv)
    docs = documents(args.calls)
    prompts = [(d, QUESTIONS[i % len(QUESTIONS)]) for i, d in enumerate(docs)]
    chars = sorted(len(d) for d in docs)
    print(f"{len(prompts)} prompts; document characters median {chars[len(chars) // 2]}, max {chars[-1]}; "
          f"load average {os.getloadavg()}")
    log_dir = Path(tempfile.mkdtemp(prefix="llm-footprint-"))
    results = []
    for i, item in enumerate(args.config or DEFAULT_CONFIGS):
        label, _, flags = item.partition("=")
        results.append(run(label, flags, prompts, args.port + i, log_dir))
    first = results[0]["answers"]
    print("\n| server setting | RSS after warm-up | RSS at the end | peak RSS | median / p90 s per call | "
          "answers equal to the first row's |")
    print("|---|---:|---:|---:|---|---:|")
    for r in results:
        same = sum(a == b for a, b in zip(r["answers"], first))
        last = list(r["rss_mb"].values())[-1]
        print(f"| {r['label']} (`{r['flags'] or 'run.sh flags'}`) | {r['rss_mb']['after warm-up']} MB | {last} MB | "
              f"{r['peak_rss_mb']} MB | {r['median_s']} / {r['p90_s']} | {same} / {len(first)} |")
    print(f"load average after: {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps([{k: v for k, v in r.items() if k != "answers"} for r in results],
                                              indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
