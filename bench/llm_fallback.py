"""The embedded LLM on the fields the readers leave: field accuracy and seconds per field.

For each document (OCR from ``bench/results/ocr-cache/``, as ``bench/readers_eval.py``),
the real :class:`app.extraction.extractor.FieldExtractor` runs twice: readers only
(the LLM stage off), which says which labelled fields the readers leave (best
confidence below the extractor's ``llm_threshold``: those are the ones the LLM is
asked), then with a llama.cpp server this script starts on the GGUF given
(``--gguf``, on a free port, ``--threads`` threads, stopped at the end). On the
fields the readers left, it reports how many the LLM answered, how many exactly
right (``bench/evaluate.py``'s rules), and the same when an ungrounded and
invalid LLM value is dropped from ``extracted_fields``
(:attr:`FieldExtractor.drop_unsupported`); and the wall time of each LLM call
(s/field).

Usage (niced, the machine is shared)::

    nice -n 10 .venv/bin/python bench/llm_fallback.py --dataset sroie --split new --info-preset plain \\
        --gguf weights/gemma-3-270m-q4_k_m.gguf --prompt-style base --limit 40
    nice -n 10 .venv/bin/python bench/llm_fallback.py --dataset sroie --split new --info-preset plain \\
        --gguf weights/SmolLM2-135M-Instruct.Q4_1.gguf --prompt-style instruct --limit 40
    nice -n 10 .venv/bin/python bench/llm_fallback.py --source transcripts --half report \\
        --gguf weights/gemma-3-270m-q4_k_m.gguf --prompt-style base

On the transcripts the address is scored on the words their comma-cut segments show
(:func:`bench.readers_eval.visible_address_row`), an approximate check.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from bench.loader import load_script  # noqa: E402

re_ = load_script("docextract_readers_eval", "readers_eval.py")
ev = re_.ev


class TimedLLM:
    """An :class:`app.llm.client.LLMClient` that records the wall time (s) of each call."""

    def __init__(self, client):
        self.client, self.seconds = client, []

    def _timed(self, call, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            self.seconds.append(time.perf_counter() - t0)

    def complete(self, *args, **kwargs):
        return self._timed(self.client.complete, *args, **kwargs)

    def chat(self, *args, **kwargs):
        return self._timed(self.client.chat, *args, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(gguf: Path, port: int, threads: int, alias: str) -> subprocess.Popen:
    """A llama.cpp server on ``gguf`` at 127.0.0.1:``port`` (waits until it answers)."""
    import requests

    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", alias,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192", "--n_threads", str(threads),
         "--verbose", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k not in ("PORT", "HOST")})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the llama.cpp server on {gguf} exited ({proc.returncode})")
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).ok:
                return proc
        except requests.RequestException:
            pass
        time.sleep(1)
    proc.terminate()
    raise SystemExit("the llama.cpp server did not answer in 300 s")


def result_of(out, ocr) -> dict:
    return {"extracted_fields": out.fields, "fields": {k: r.to_dict() for k, r in out.details.items()}}


def without_dropped(result: dict) -> dict:
    """``result`` as a client sees it when ungrounded and invalid LLM values are dropped."""
    from app.extraction.extractor import DROPPED_REASON

    fields = result["fields"]
    kept = {k: (None if (fields.get(k) or {}).get("checks", {}).get("dropped") == DROPPED_REASON else v)
            for k, v in result["extracted_fields"].items()}
    return {**result, "extracted_fields": kept}


def llm_alone(extractor, doc: dict, timeout: float) -> dict:
    """Every receipt field asked of the LLM alone (per-field prompts, as the extractor asks
    them), each answer grounded, normalised and validated as the extractor does
    (:func:`app.extraction.fields.llm_candidate`, :func:`app.extraction.fields.combine`),
    and marked as the extractor marks an unsupported value; a per-file result."""
    from app.extraction.doctypes import DOCUMENT_TYPES
    from app.extraction.extractor import DROPPED_REASON, _unsupported
    from app.extraction.fields import combine, llm_candidate

    document, _ = extractor.prompts.document_text(doc["ocr"])
    values, fields = {}, {}
    for spec in DOCUMENT_TYPES["receipt"].fields:
        try:
            raw = extractor._ask_field(document, spec.description(), timeout, None)
        except Exception as e:  # noqa: BLE001 - a failed call is a missed field, reported
            print(f"{doc['id']} {spec.key}: {e}", file=sys.stderr)
            raw = None
        cand = llm_candidate(spec, raw, doc["ocr"], extractor.llm_confidence)
        result = combine(spec, [cand] if cand is not None else [])
        entry = result.to_dict()
        if _unsupported(result):
            entry["checks"] = {**entry.get("checks", {}), "dropped": DROPPED_REASON}
        values[spec.key], fields[spec.key] = result.value, entry
    return {"extracted_fields": values, "fields": fields}


def main(argv=None) -> int:
    from app.extraction.extractor import ExtractOptions, FieldExtractor
    from app.llm.client import LLMClient
    from app.llm.prompts import PromptBuilder

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", choices=["cache", "transcripts"], default="cache",
                        help="OCR from the cache, or the SROIE organisers' transcripts (no OCR run)")
    parser.add_argument("--half", choices=["all", "tune", "report"], default="report", help="transcripts")
    parser.add_argument("--dataset", default="sroie")
    parser.add_argument("--split", choices=["all", "old", "new"], default="new")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--info-preset", choices=["naive", "plain"], default="plain")
    parser.add_argument("--gguf", required=True, type=Path)
    parser.add_argument("--prompt-style", choices=["base", "instruct"], required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--llm-timeout", type=float, default=60.0, help="seconds per LLM call")
    parser.add_argument("--all-fields", action="store_true",
                        help="ask the LLM alone for every field of the receipt type (readers off), as the "
                             "fallback would be asked for a field no reader found")
    parser.add_argument("--out", help="JSON file for the per-field rows")
    args = parser.parse_args(argv)

    if args.source == "transcripts":
        args.dataset, args.split = "sroie", f"transcripts ({args.half} half)"
        docs = re_.transcript_documents(args.half)[: args.limit]
    else:
        docs = re_.cached_documents(args.dataset, args.split, args.limit, cached_only=True)
    if args.info_preset == "plain":
        info, back = ev.plain_info(args.dataset)
    else:
        info, back = dict(ev.NAIVE_INFO[args.dataset]), {}
    readers = re_.extractor()
    port = free_port()
    server = start_server(args.gguf, port, args.threads, args.gguf.stem)
    rows = []
    try:
        llm = TimedLLM(LLMClient(base_url=f"http://127.0.0.1:{port}/v1", model=args.gguf.stem, backend="llamacpp",
                                 timeout=args.llm_timeout, max_retries=0))
        live = FieldExtractor(llm, PromptBuilder(args.prompt_style), drop_unsupported=False)
        options = ExtractOptions(parallel=False, llm_timeout=args.llm_timeout)
        for i, doc in enumerate(docs, 1):
            calls = len(llm.seconds)
            if args.all_fields:
                after = llm_alone(live, doc, args.llm_timeout)
                left = set(after["fields"])
            else:
                before = ev.rename_result(result_of(readers.extract(doc["ocr"], info, options, image=doc["image"]),
                                                    doc["ocr"]), back)
                left = {k for k, f in before["fields"].items() if f["confidence"] < live.llm_threshold}
                if not left:
                    continue
                after = ev.rename_result(result_of(live.extract(doc["ocr"], info, options, image=doc["image"]),
                                                   doc["ocr"]), back)
            spent = llm.seconds[calls:]
            for variant, result in (("keep", after), ("drop", without_dropped(after))):
                scored = ev.score_document(args.dataset, doc["label"], result)
                if doc.get("transcript") and "skipped" not in scored.get("address", {"skipped": 1}):
                    scored["address"] = {**re_.visible_address_row(doc, scored["address"]),
                                         "response_key": scored["address"].get("response_key")}
                for key, row in scored.items():
                    if "skipped" in row or row.get("response_key") not in left:
                        continue
                    entry = result["fields"].get(row["response_key"]) or {}
                    rows.append({"id": doc["id"], "field": key, "variant": variant, "match": row["match"],
                                 "answered": result["extracted_fields"].get(row["response_key"]) is not None,
                                 "source": entry.get("source"), "grounded": entry.get("grounded"),
                                 "label": row["label_norm"], "prediction": row["prediction_norm"]})
            print(f"[{i}/{len(docs)}] {doc['id']}: {len(left)} left, {len(spent)} LLM calls, "
                  f"{sum(spent):.1f} s", file=sys.stderr, flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"{args.gguf.name} ({args.prompt_style}), {args.dataset} {args.split}, {len(docs)} documents, "
          + ("every receipt field, LLM alone:" if args.all_fields
             else f"info preset {args.info_preset}; fields the readers leave:"))
    print("| variant | fields | answered | exact | exact % | wrong answers returned |")
    print("|---|---:|---:|---:|---:|---:|")
    for variant in ("keep", "drop"):
        vs = [r for r in rows if r["variant"] == variant]
        n, answered, exact = len(vs), sum(r["answered"] for r in vs), sum(r["match"] for r in vs)
        print(f"| {variant} | {n} | {answered} | {exact} | {100 * exact / max(n, 1):.1f} % | {answered - exact} |")
    if llm.seconds:
        print(f"LLM calls: {len(llm.seconds)}, s/field median {statistics.median(llm.seconds):.2f}, "
              f"mean {statistics.fmean(llm.seconds):.2f}, max {max(llm.seconds):.2f}")
    if args.out:
        Path(args.out).write_text(json.dumps({"rows": rows, "seconds": llm.seconds}, ensure_ascii=False, indent=1),
                                  encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
