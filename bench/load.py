"""Load and soak: N concurrent clients POST real receipts to ``/extract`` for T
seconds, optionally with the LLM server killed for the middle part.

Starts its own stack, as ``run.sh serve`` would run it: the llama.cpp server
(Gemma 3 270M) and the API under gunicorn with ``deploy/gunicorn.conf.py`` (the
real app, the configured OCR engine). Each client sends one receipt after the
other (SROIE and MC-OCR images from ``../shared/data``, taken in turn) with
``config={"document_type": "receipt"}`` (readers first, the LLM for the rest)
and, when refused with ``Retry-After`` (503 ``OVERLOADED``, or an open LLM
circuit), waits that long before its next request, as a well-behaved client does.

Prints, for the whole run and per phase (``before`` / ``llm_down`` / ``after``
when ``--kill-llm`` is given): requests done, answers by status and error code,
200 answers that carry LLM field errors (the readers' partial answers),
latency p50 / p90 / p99 / max in seconds; and the RSS of every process (gunicorn
master, each worker, the LLM server) at the start (after the warm-up) and at the
end, with the growth, plus an RSS sample of every process each ``--sample-every``
seconds from the warm-up's start to the end (``rss_curve``), which shows whether
memory levels off or keeps growing.

The warm-up sends ``--warmup`` receipts from ``--warmup-clients`` clients (retrying
refusals) before the clock starts, so that each worker has run the OCR models on
many page sizes; the start RSS is then a loaded worker's, not a fresh one's.

Usage (the issue's full runs, then the shortened ones reported in docs/reliability.md)::

    nice -n 10 .venv/bin/python bench/load.py --clients 50 --duration 600 --warmup 40
    nice -n 10 .venv/bin/python bench/load.py --clients 50 --duration 600 --warmup 40 --kill-llm
    nice -n 10 .venv/bin/python bench/load.py --clients 50 --duration 120 --json bench/results/load.json

``--kill-llm`` sends SIGKILL to the LLM server at 1/3 of the run and starts a new
one at 2/3. Figures are printed, never asserted (no timed tests).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.services import ROOT, rss_tree, start_api, start_llm, stop  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
CONFIG = json.dumps({"document_type": "receipt"})
TOKEN = "load-bench"


def receipts(limit: int) -> list[Path]:
    """Up to ``limit`` images, alternating SROIE and MC-OCR (sorted, so every run sends the same ones)."""
    pools = [sorted((SHARED / "sroie" / "images").glob("*.jpg")), sorted((SHARED / "mcocr2021" / "images").glob("*.jpg"))]
    pools = [p for p in pools if p]
    if not pools:
        raise SystemExit(f"no receipts under {SHARED} (sroie/images, mcocr2021/images)")
    out = []
    for i in range(limit):
        pool = pools[i % len(pools)]
        out.append(pool[(i // len(pools)) % len(pool)])
    return out


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(q / 100 * (len(values) - 1))))
    return round(values[k], 2)


def summarise(records: list[dict]) -> dict:
    lat = [r["latency"] for r in records]
    ok = [r["latency"] for r in records if r["status"] == 200]
    return {
        "requests": len(records),
        "by_code": dict(Counter(f"{r['status']} {r['code']}".strip() for r in records).most_common()),
        "ok_with_llm_field_errors": sum(1 for r in records if r["status"] == 200 and r["field_errors"]),
        "latency_s_all": {"p50": percentile(lat, 50), "p90": percentile(lat, 90), "p99": percentile(lat, 99),
                          "max": round(max(lat), 2) if lat else None},
        "latency_s_200": {"p50": percentile(ok, 50), "p90": percentile(ok, 90), "p99": percentile(ok, 99)},
    }


def client_loop(index: int, base: str, images: list[Path], stop_at: float, t0: float, out: list, lock) -> None:
    import requests

    session = requests.Session()
    n = index
    while time.monotonic() < stop_at:
        path = images[n % len(images)]
        n += 1
        start = time.monotonic()
        status, code, field_errors, wait = 0, "", False, 0.0
        try:
            r = session.post(base + "/extract", headers={"X-API-Token": TOKEN}, timeout=600,
                             files=[("image_file", (path.name, path.read_bytes(), "image/jpeg"))],
                             data={"config": CONFIG})
            status = r.status_code
            try:
                body = r.json()
            except ValueError:
                body = {}
            code = body.get("error_code", "") if status != 200 else ""
            if status == 200:
                field_errors = any(x.get("field_errors") for x in body["data"]["results"])
            wait = float(r.headers.get("Retry-After", 0) or 0)
        except requests.RequestException as e:
            code = type(e).__name__
        with lock:
            out.append({"t": start - t0, "latency": time.monotonic() - start, "status": status, "code": code,
                        "field_errors": field_errors})
        if wait:
            time.sleep(min(wait, max(0.0, stop_at - time.monotonic())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--kill-llm", action="store_true", help="kill the LLM server for the middle third")
    parser.add_argument("--images", type=int, default=40, help="distinct receipts sent in turn")
    parser.add_argument("--port", type=int, default=18220, help="API port (the LLM server takes port + 1)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the API (settings)")
    parser.add_argument("--warmup", type=int, default=8, help="receipts processed before the clock starts")
    parser.add_argument("--warmup-clients", type=int, default=4, help="clients sending the warm-up receipts")
    parser.add_argument("--sample-every", type=float, default=30.0, help="seconds between RSS samples")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    images = receipts(args.images)
    log_dir = Path(tempfile.mkdtemp(prefix="load-"))
    env = {"HARD_TOKEN": TOKEN, **dict(kv.split("=", 1) for kv in args.env)}
    llm = start_llm(args.port + 1, log_dir)
    api = None
    try:
        api = start_api(args.port, log_dir, llm.url, **env)
        import requests

        samples: list[dict] = []
        sampling = threading.Event()
        t_warm = time.monotonic()

        def sample() -> None:
            while True:
                samples.append({"t": round(time.monotonic() - t_warm, 1), "api": rss_tree(api.proc.pid),
                                "llm": rss_tree(llm.proc.pid), "loadavg": [round(x, 1) for x in os.getloadavg()]})
                if sampling.wait(args.sample_every):
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        # Warm-up: --warmup receipts processed (refusals retried) by a few clients, so every
        # worker has run the models on many page sizes before the start RSS is taken.
        from concurrent.futures import ThreadPoolExecutor

        def warm(i: int) -> int:
            path = images[i % len(images)]
            for _ in range(30):  # refused (503 OVERLOADED): wait as told and send it again
                r = requests.post(api.url + "/extract", headers={"X-API-Token": TOKEN}, timeout=600,
                                  data={"config": CONFIG}, files=[("image_file", (path.name, path.read_bytes(),
                                                                                  "image/jpeg"))])
                if r.status_code != 503:
                    break
                time.sleep(float(r.headers.get("Retry-After", 2)))
            return r.status_code

        with ThreadPoolExecutor(args.warmup_clients) as pool:
            codes = Counter(pool.map(warm, range(args.warmup)))
        warmup_s = round(time.monotonic() - t_warm, 1)
        print(f"logs in {log_dir}; warm-up: {dict(codes)} in {warmup_s} s", flush=True)
        rss_start = {"api": rss_tree(api.proc.pid), "llm": rss_tree(llm.proc.pid)}

        records: list[dict] = []
        lock = threading.Lock()
        t0 = time.monotonic()
        stop_at = t0 + args.duration
        threads = [threading.Thread(target=client_loop, args=(i, api.url, images, stop_at, t0, records, lock),
                                    daemon=True) for i in range(args.clients)]
        for t in threads:
            t.start()
        events = {}
        if args.kill_llm:
            time.sleep(args.duration / 3)
            os.kill(llm.proc.pid, signal.SIGKILL)
            llm.proc.wait()
            events["llm_killed_s"] = round(time.monotonic() - t0, 1)
            print(f"LLM server killed at {events['llm_killed_s']} s", flush=True)
            time.sleep(max(0.0, t0 + 2 * args.duration / 3 - time.monotonic()))
            events["llm_restart_s"] = round(time.monotonic() - t0, 1)
            llm = start_llm(args.port + 1, log_dir)
            events["llm_back_s"] = round(time.monotonic() - t0, 1)
            print(f"LLM server restarted at {events['llm_restart_s']} s, answering at {events['llm_back_s']} s",
                  flush=True)
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        rss_end = {"api": rss_tree(api.proc.pid), "llm": rss_tree(llm.proc.pid)}
        sampling.set()
        sampler.join()

        result = {"clients": args.clients, "duration_s": args.duration, "elapsed_s": round(elapsed, 1),
                  "kill_llm": args.kill_llm, "events": events, "env": env, "cpus": os.cpu_count(),
                  "warmup": {"requests": args.warmup, "codes": dict(codes), "s": warmup_s,
                             "clock_start_s": round(t0 - t_warm, 1)},
                  "loadavg_end": os.getloadavg(), "all": summarise(records)}
        if args.kill_llm:
            down_from, down_to = events["llm_killed_s"], events["llm_back_s"]
            result["phases"] = {
                "before": summarise([r for r in records if r["t"] < down_from]),
                "llm_down": summarise([r for r in records if down_from <= r["t"] < down_to]),
                "after": summarise([r for r in records if r["t"] >= down_to]),
            }
        growth = {}
        for name, start_map in rss_start["api"].items():
            if name in rss_end["api"]:
                growth[name] = {"start_mb": start_map, "end_mb": rss_end["api"][name],
                                "growth_pct": round(100 * (rss_end["api"][name] - start_map) / start_map, 1)}
            else:
                growth[name] = {"start_mb": start_map, "end_mb": None, "note": "process gone (recycled)"}
        for name, end_mb in rss_end["api"].items():
            growth.setdefault(name, {"start_mb": None, "end_mb": end_mb, "note": "new process (recycled worker)"})
        result["rss"] = {"api": growth, "llm_start": rss_start["llm"], "llm_end": rss_end["llm"]}
        # t: seconds since the warm-up began (the clock starts at warmup.clock_start_s).
        result["rss_curve"] = samples
        text = json.dumps(result, indent=1)
        print(text)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(text)
    finally:
        stop(api)
        stop(llm)


if __name__ == "__main__":
    main()
