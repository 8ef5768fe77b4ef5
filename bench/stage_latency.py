"""Latency per stage of ``/extract`` on a fixed set of shared receipts, and a check against recorded figures.

Sends a fixed set of receipts (the first ``--limit`` SROIE and the first
``--limit`` MC-OCR images in sorted order, 10 + 10 by default) to ``/extract``
with ``document_type: receipt``, one client, one document after another, through
the real door: ``./run.sh api`` (gunicorn with ``deploy/gunicorn.conf.py`` and
run.sh's memory allocator) and a llama.cpp server, both started for the run
(unless ``--url`` names a running API), ``--env NAME=VALUE`` passed to the API
(e.g. ``MEMORY_ALLOCATOR=glibc``). The first document is sent
twice, untimed, first (lazy model loading).

Per stage the median over the documents, in milliseconds: ``wall`` (the client's
wall time per request), and the server's ``processing_time`` entries (``ocr``,
``detection``, ``recognition``, ``extraction``, each reader's, ``llm`` over the
documents where the LLM was asked); and the count of fields the LLM answered over
the whole set (a reader regression shows up as more LLM calls before it shows up
in time).

Machines differ and a shared machine's speed changes from hour to hour, so every
figure is also divided by an **anchor** measured in the same run: a fixed CPU
workload (a pure-Python loop and a NumPy matrix product, median of 5, once before
and once after the documents; see :func:`anchor_seconds`), which runs none of
the service's code, so it cannot hide a regression in it.

``--record FILE`` writes the figures (with the anchor, the load average, the
date and the commit) to ``FILE``; the recorded figures live in
``bench/baselines/stage_latency.json``. ``--check FILE`` compares this run with
them and exits 1 when a stage's anchored median is more than ``--tolerance``
(default 20 %) above the recorded one, or the LLM answered more fields than
recorded; stages whose recorded median is under ``--min-ms`` (20 ms) or was taken
over fewer than 3 documents (the LLM's, when the readers leave few fields to it)
are printed but not judged (their noise is larger than the tolerance), and a
stage missing on either side is ``skipped``, never passed.

Usage::

    nice -n 10 .venv/bin/python bench/stage_latency.py --check bench/baselines/stage_latency.json
    nice -n 10 .venv/bin/python bench/stage_latency.py --record bench/baselines/stage_latency.json
    nice -n 10 .venv/bin/python bench/stage_latency.py --env MEMORY_ALLOCATOR=glibc

Run by hand and before each release; never as a timed unit test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data"
SETS = {"sroie": DATA / "sroie" / "images", "mcocr": DATA / "mcocr2021" / "images"}


def anchor_seconds(repeats: int = 5) -> float:
    """Median seconds of a fixed CPU workload that runs none of the service's code.

    One repetition (about 0.2 s on this project's 2-core machine): a pure-Python loop
    of 4 million additions and 60 products of two 384 x 384 float32 NumPy matrices
    (seeded). The anchor moves with the
    machine (CPU model, frequency, other processes' load), so a stage's figure
    divided by it compares across runs and machines.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((384, 384), dtype=np.float32)
    b = rng.standard_normal((384, 384), dtype=np.float32)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        total = 0
        for i in range(4_000_000):
            total += i
        for _ in range(60):
            a = (a @ b) / 384.0
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def documents(limit: int) -> list[Path]:
    """The fixed set: the first ``limit`` images of each set, sorted by name."""
    out = []
    for folder in SETS.values():
        out += sorted(folder.glob("*.jpg"))[:limit]
    if not out:
        raise SystemExit(f"no receipts under {DATA}")
    return out


def send(session, url: str, path: Path, token: str | None) -> tuple[float, dict]:
    """``(client wall seconds, the document's result)`` of one ``/extract``."""
    headers = {"X-API-Token": token} if token else {}
    t0 = time.perf_counter()
    with open(path, "rb") as fh:
        r = session.post(url + "/extract", headers=headers, timeout=300,
                         files={"image_file": (path.name, fh, "image/jpeg")},
                         data={"config": json.dumps({"document_type": "receipt"})})
    wall = time.perf_counter() - t0
    if r.status_code != 200:
        raise SystemExit(f"{path.name}: /extract answered {r.status_code}: {r.text[:300]}")
    body = r.json()
    return wall, ((body.get("data") or body).get("results") or [body])[0]


def tree_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of ``pid`` and its descendants (None without a pid)."""
    if pid is None:
        return None
    import psutil

    total = 0.0
    try:
        root = psutil.Process(pid)
        for p in [root, *root.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
    except psutil.Error:
        return None
    return total


class PeakTreeRss:
    """Peak RSS (MB) of a process and its descendants, sampled every 0.2 s in a thread."""

    def __init__(self, pid: int | None):
        import threading

        self.pid, self.peak_mb = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        from bench.services import rss_tree

        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, sum(rss_tree(self.pid).values()))
            self._stop.wait(0.2)

    def __enter__(self):
        if self.pid is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def measure(url: str, paths: list[Path], token: str | None, api_pid: int | None = None) -> dict:
    """Medians per stage (ms), LLM-answered fields, per-document rows; with ``api_pid``
    (the API this script started) also the API's CPU seconds per document and its
    peak RSS (gunicorn master and workers together)."""
    import requests

    session = requests.Session()
    for _ in range(2):
        send(session, url, paths[0], token)
    rows = []
    cpu_start = tree_cpu_seconds(api_pid)
    with PeakTreeRss(api_pid) as rss:
        for path in paths:
            rows.append(_one(session, url, path, token))
    cpu_end = tree_cpu_seconds(api_pid)
    out = _summary(rows)
    if cpu_start is not None and cpu_end is not None:
        out["api_cpu_s_per_document"] = round((cpu_end - cpu_start) / len(rows), 3)
        out["api_peak_rss_mb"] = round(rss.peak_mb)
    return out


def _one(session, url: str, path: Path, token: str | None) -> dict:
    """One document's row: client wall ms, the server's stage times (ms), LLM-answered fields."""
    wall, result = send(session, url, path, token)
    timing = {k[:-3]: float(v) for k, v in (result.get("processing_time") or {}).items()
              if k.endswith("_ms") and isinstance(v, (int, float))}
    llm_fields = sum(1 for f in (result.get("fields") or {}).values()
                     if isinstance(f, dict) and f.get("source") == "llm")
    print(f"  {path.name[:36]:36s} wall {wall * 1000:7.0f} ms  ocr {timing.get('ocr', 0):7.0f} ms  "
          f"llm fields {llm_fields}", file=sys.stderr)
    return {"document": path.name, "wall": wall * 1000.0, **timing, "llm_fields": llm_fields}


def _summary(rows: list[dict]) -> dict:
    stages: dict[str, float] = {}
    counts: dict[str, int] = {}
    names = ["wall"] + sorted({k for r in rows for k in r} - {"document", "wall", "llm_fields"})
    for name in names:
        # llm: only over the documents where the LLM was asked (the others report none or 0)
        values = [r[name] for r in rows if name in r and (name != "llm" or r[name] > 0)]
        if values:
            stages[name] = round(statistics.median(values), 1)
            counts[name] = len(values)
    return {"stages_ms": stages, "stages_n": counts, "llm_fields": sum(r["llm_fields"] for r in rows),
            "documents_per_hour_one_client": round(3600.0 / (statistics.fmean(r["wall"] for r in rows) / 1000.0)),
            "rows": rows}


#: A stage's median over fewer documents than this (the LLM's, when few fields need it) is too noisy to judge.
MIN_DOCUMENTS = 3


def compare(now: dict, recorded: dict, tolerance: float, min_ms: float) -> tuple[list[str], bool]:
    """Table lines and whether every judged figure is within ``tolerance``."""
    ok = True
    lines = ["| stage | recorded ms | now ms | anchored ratio | verdict |", "|---|---:|---:|---:|---|"]
    scale = now["anchor_s"] / recorded["anchor_s"]
    for stage in sorted(set(now["stages_ms"]) | set(recorded["stages_ms"]),
                        key=lambda s: (s != "wall", s)):
        rec, cur = recorded["stages_ms"].get(stage), now["stages_ms"].get(stage)
        if rec is None or cur is None:
            lines.append(f"| {stage} | {rec if rec is not None else '–'} | {cur if cur is not None else '–'} | – | "
                         f"skipped (not measured in {'the record' if rec is None else 'this run'}) |")
            continue
        ratio = (cur / scale) / rec if rec else float("inf")
        n = min(recorded.get("stages_n", {}).get(stage, MIN_DOCUMENTS), now.get("stages_n", {}).get(stage, MIN_DOCUMENTS))
        if rec < min_ms:
            verdict = f"not judged (under {min_ms:g} ms)"
        elif n < MIN_DOCUMENTS:
            verdict = f"not judged (a median of {n} document{'s' if n != 1 else ''})"
        elif ratio > 1.0 + tolerance:
            verdict, ok = f"**SLOWER** (> {100 * tolerance:.0f} %)", False
        else:
            verdict = "ok"
        shown = f"{ratio:.2f}" if rec else "–"
        lines.append(f"| {stage} | {rec:.1f} | {cur:.1f} | {shown} | {verdict} |")
    more = now["llm_fields"] > recorded["llm_fields"]
    ok = ok and not more
    lines.append(f"| fields answered by the LLM (count) | {recorded['llm_fields']} | {now['llm_fields']} | – | "
                 f"{'**MORE**' if more else 'ok'} |")
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running API (default: start ./run.sh api and llama.cpp for the run)")
    ap.add_argument("--token", default=os.environ.get("HARD_TOKEN") or None)
    ap.add_argument("--limit", type=int, default=10, help="receipts per set (SROIE, MC-OCR)")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the started API")
    ap.add_argument("--record", help="write this run's figures to this file")
    ap.add_argument("--check", help="compare with the figures recorded in this file; exit 1 when slower")
    ap.add_argument("--tolerance", type=float, default=0.20)
    ap.add_argument("--min-ms", type=float, default=20.0)
    ap.add_argument("--port", type=int, default=18120)
    args = ap.parse_args(argv)

    # A SIGTERM (timeout, kill) unwinds through the finally below, so the servers stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    paths = documents(args.limit)
    load_before = os.getloadavg()
    anchor_before = anchor_seconds()
    llm = api = None
    try:
        url = args.url
        if url is None:
            from bench.services import start_api_run_sh, start_llm

            logs = Path(tempfile.mkdtemp(prefix="stage-latency-"))
            llm = start_llm(args.port + 1, logs)
            env = dict(item.split("=", 1) for item in args.env)
            env.setdefault("HARD_TOKEN", args.token or "")
            api = start_api_run_sh(args.port, logs, llm.url, **env)
            url = api.url
        print(f"{len(paths)} receipts -> {url}/extract (document_type receipt); load average {load_before}",
              file=sys.stderr)
        now = measure(url, paths, args.token, api.proc.pid if api is not None else None)
    finally:
        from bench.services import stop

        stop(api)
        stop(llm)
    anchor_after = anchor_seconds()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    now.update({"anchor_s": round((anchor_before + anchor_after) / 2, 4),
                "anchor_before_after_s": [round(anchor_before, 4), round(anchor_after, 4)],
                "load_average_before_after": [list(load_before), list(os.getloadavg())],
                "documents": len(paths), "env": args.env, "date": dt.date.today().isoformat(), "commit": commit,
                "cpus": os.cpu_count()})
    print(f"\nanchor {now['anchor_s']:.3f} s (before {anchor_before:.3f}, after {anchor_after:.3f}); "
          f"load average before {load_before}, after {os.getloadavg()}; "
          f"{now['documents_per_hour_one_client']} documents/hour for one client; "
          f"fields answered by the LLM: {now['llm_fields']}"
          + (f"; API CPU {now['api_cpu_s_per_document']} s per document, API peak RSS {now['api_peak_rss_mb']} MB"
             if "api_cpu_s_per_document" in now else ""))
    print("| stage | median ms |\n|---|---:|")
    for stage, ms in now["stages_ms"].items():
        print(f"| {stage} | {ms:.1f} |")
    status = 0
    if args.check:
        recorded = json.loads(Path(args.check).read_text())
        lines, ok = compare(now, recorded, args.tolerance, args.min_ms)
        print(f"\nagainst {args.check} (recorded {recorded.get('date')} at {recorded.get('commit')}, "
              f"anchor {recorded['anchor_s']:.3f} s):")
        print("\n".join(lines))
        print("within tolerance" if ok else "REGRESSION: see the rows marked above")
        status = 0 if ok else 1
    if args.record:
        record = {k: v for k, v in now.items() if k != "rows"}
        Path(args.record).parent.mkdir(parents=True, exist_ok=True)
        Path(args.record).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {args.record}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
