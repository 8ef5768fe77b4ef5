"""Latency, throughput and memory of the extraction pipeline on the shared data.

Runs the service's own pipeline in-process (image decoding, the configured OCR
engine, the LLM field extractor against a real OpenAI-compatible server) over
receipts from ``../shared/data`` and prints, per extraction mode:

* per-stage latency p50 / p90 in milliseconds: decode, text detection,
  text recognition, OCR total, each deterministic reader that ran (``qr``,
  ``mrz``, ``rules``; with ``--document-type``), the LLM calls (``llm_ms``,
  over the documents where the LLM was asked at all), the whole extraction
  stage and the whole document;
* documents per hour for one client processing documents one after another
  (3600 / mean seconds per document);
* peak resident memory (RSS) of this process (API side: OCR models) and of
  the LLM server process, sampled every 100 ms.

If no LLM server answers at ``LLM_API_URL`` and ``LLM_BACKEND=llamacpp``, one
is started for the run (as ``run.sh llm`` would) and stopped afterwards.

Usage::

    .venv/bin/python bench/benchmark.py                     # 10 SROIE + 10 MC-OCR, both modes
    .venv/bin/python bench/benchmark.py --limit 30 --modes per_field --json bench/results/bench.json

Figures are printed, never asserted (no timed tests).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from app.config import Settings  # noqa: E402
from app.documents import decode_image  # noqa: E402
from app.extraction.extractor import ExtractOptions, FieldExtractor  # noqa: E402
from app.llm.client import LLMClient  # noqa: E402
from app.llm.prompts import PromptBuilder  # noqa: E402
from app.ocr.base import create_engine  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DATASETS = {
    "sroie": {
        "images": DATA / "sroie" / "images",
        "info": {
            "company": "name of the company that issued the receipt",
            "date": "date of the receipt",
            "address": "address of the company",
            "total": "total amount",
        },
    },
    "mcocr": {
        "images": DATA / "mcocr2021" / "images",
        "info": {
            "seller": "tên cửa hàng (seller name)",
            "address": "địa chỉ cửa hàng (address)",
            "timestamp": "ngày giờ in hóa đơn (date and time)",
            "total_cost": "tổng số tiền thanh toán (total amount)",
        },
    },
}


class PeakRss:
    """Samples the RSS of some processes (bytes) in a background thread.

    Each process counts with its child processes (e.g. ``tesseract`` commands),
    but not with another sampled process that is its child (the LLM server this
    script started is counted once, as ``llm_server``)."""

    def __init__(self, pids: dict[str, int], interval: float = 0.1):
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self._sampled = {pid for pid in pids.values() if pid}
        self.peak = {name: 0 for name in pids}
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for name, proc in self.procs.items():
                try:
                    children = [c for c in proc.children(recursive=True) if c.pid not in self._sampled
                                and not any(p.pid in self._sampled for p in c.parents() if p.pid != proc.pid)]
                    rss = proc.memory_info().rss + sum(c.memory_info().rss for c in children)
                except psutil.Error:
                    continue
                self.peak[name] = max(self.peak[name], rss)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def llm_answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url.rstrip("/") + "/models", timeout=3).read()
        return True
    except OSError:
        return False


def find_server_pid(port: int) -> int | None:
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return conn.pid
    return None


def start_llama_server(settings: Settings) -> subprocess.Popen:
    gguf = os.environ.get("LLM_GGUF_PATH", str(ROOT / "weights" / "gemma-3-270m-q4_k_m.gguf"))
    port = settings.llm_api_url.rsplit(":", 1)[1].split("/")[0]
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", gguf, "--model_alias", settings.llm_model,
         "--host", "127.0.0.1", "--port", port, "--n_ctx", os.environ.get("LLM_MAX_MODEL_LEN", "8192"), "--logits_all", "False",
         "--n_threads", str(os.cpu_count() or 2), "--verbose", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # llama_cpp.server reads unprefixed PORT/HOST from the environment over its flags.
        env={k: v for k, v in os.environ.items() if k not in ("PORT", "HOST")})
    deadline = time.monotonic() + 180
    while not llm_answers(settings.llm_api_url):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"could not start the llama.cpp server at {settings.llm_api_url}")
        time.sleep(0.5)
    return proc


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="sroie,mcocr")
    parser.add_argument("--limit", type=int, default=10, help="documents per dataset")
    parser.add_argument("--modes", default="per_field,schema")
    parser.add_argument("--batch-size", type=int, default=3)
    parser.add_argument("--document-type", help="e.g. receipt: deterministic readers first, LLM for the rest "
                                                "(default: the dataset's plain field descriptions, LLM only)")
    parser.add_argument("--json", help="write all measurements to this file")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    docs = []
    for name in args.datasets.split(","):
        spec = DATASETS[name]
        for path in sorted(spec["images"].glob("*.jpg"))[: args.limit]:
            docs.append((name, path, spec["info"]))
    if not docs:
        raise SystemExit(f"no documents found under {DATA}")

    started = None
    if not llm_answers(settings.llm_api_url):
        if settings.llm_backend != "llamacpp":
            raise SystemExit(f"no LLM server answers at {settings.llm_api_url}")
        print(f"starting a llama.cpp server at {settings.llm_api_url} for this run", file=sys.stderr)
        started = start_llama_server(settings)
    port = int(settings.llm_api_url.rsplit(":", 1)[1].split("/")[0])
    llm_pid = started.pid if started else find_server_pid(port)

    t0 = time.perf_counter()
    engine = create_engine(settings)
    load_ms = (time.perf_counter() - t0) * 1000
    llm = LLMClient.from_settings(settings)
    extractor = FieldExtractor(llm, PromptBuilder(settings.prompt_style), max_tokens=settings.llm_max_tokens)
    pids = {"api_process": os.getpid()}
    if llm_pid:
        pids["llm_server"] = llm_pid

    report = {"settings": {"ocr_engine": settings.ocr_engine, "llm_model": settings.llm_model,
                           "llm_backend": settings.llm_backend, "prompt_style": settings.prompt_style,
                           "cpu_count": os.cpu_count(), "documents": len(docs), "ocr_load_ms": round(load_ms),
                           "document_type": args.document_type},
              "modes": {}}
    try:
        # Warm-up (first ONNX Runtime and llama.cpp calls are slower).
        warm = decode_image(docs[0][1].read_bytes(), max_bytes=10**9, max_pixels=10**9)
        extractor.extract(engine.recognize(warm), {"x": "total amount"}, ExtractOptions(mode="per_field"))
        for mode in args.modes.split(","):
            rows = []
            with PeakRss(pids) as mem:
                for dataset, path, info in docs:
                    t_start = time.perf_counter()
                    image = decode_image(path.read_bytes(), max_bytes=10**9, max_pixels=10**9)
                    t_decoded = time.perf_counter()
                    ocr = engine.recognize(image)
                    t_ocr = time.perf_counter()
                    options = ExtractOptions(mode=mode, batch_size=args.batch_size, llm_timeout=120)
                    if args.document_type:
                        extraction = extractor.extract(ocr, None, options, document_type=args.document_type,
                                                       image=image)
                    else:
                        extraction = extractor.extract(ocr, info, options)
                    t_end = time.perf_counter()
                    rows.append({"dataset": dataset, "document": path.name, "decode_ms": (t_decoded - t_start) * 1000,
                                 "detection_ms": ocr.detection_ms, "recognition_ms": ocr.recognition_ms,
                                 "ocr_ms": (t_ocr - t_decoded) * 1000, "extraction_ms": (t_end - t_ocr) * 1000,
                                 "total_ms": (t_end - t_start) * 1000, "lines": len(ocr.lines),
                                 "fields": extraction.fields, **{f"{k}_ms": v for k, v in extraction.stage_ms.items()},
                                 "field_errors": {k: e.code for k, e in extraction.errors.items()}})
                    print(f"{mode:9s} {path.name[:32]:32s} ocr {rows[-1]['ocr_ms']:7.0f} ms  "
                          f"llm {rows[-1]['extraction_ms']:7.0f} ms", file=sys.stderr)
            stages = {}
            for stage in ("decode_ms", "detection_ms", "recognition_ms", "ocr_ms", "qr_ms", "mrz_ms", "rules_ms",
                          "llm_ms", "extraction_ms", "total_ms"):
                values = [r[stage] for r in rows if stage in r]
                if not values:
                    continue
                stages[stage] = {"p50": round(pct(values, 50)), "p90": round(pct(values, 90))}
            mean_s = statistics.fmean(r["total_ms"] for r in rows) / 1000
            report["modes"][mode] = {
                "stages": stages,
                "documents_per_hour": round(3600 / mean_s),
                "peak_rss_mb": {k: round(v / 1048576) for k, v in mem.peak.items()},
                "field_errors": sum(len(r["field_errors"]) for r in rows),
                "rows": rows,
            }
    finally:
        if started:
            started.terminate()
            started.wait(timeout=20)

    s = report["settings"]
    print(f"\n{s['documents']} documents ({args.datasets}, document_type={args.document_type}), "
          f"OCR {s['ocr_engine']}, LLM {s['llm_model']} "
          f"({s['llm_backend']}, {s['prompt_style']} prompts), {s['cpu_count']} CPUs, OCR load {s['ocr_load_ms']} ms")
    header = f"{'mode':10s} {'stage':15s} {'p50 ms':>8s} {'p90 ms':>8s}"
    print(header + "\n" + "-" * len(header))
    for mode, m in report["modes"].items():
        for stage, v in m["stages"].items():
            print(f"{mode:10s} {stage:15s} {v['p50']:8d} {v['p90']:8d}")
        peaks = ", ".join(f"{k} {v} MB" for k, v in m["peak_rss_mb"].items())
        print(f"{mode:10s} documents/hour {m['documents_per_hour']}; peak RSS: {peaks}; "
              f"field errors {m['field_errors']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
