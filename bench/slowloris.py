"""Slow clients against the API: do stalled uploads block everyone else?

Opens ``--connections`` sockets that each send a complete ``POST /ocr`` header
block announcing a multipart body, then the first bytes of that body, and then
stall. Meanwhile another client asks ``GET /health`` every 0.5 s (2 s timeout).
Prints how many health checks answered, the longest gap, and for each stalled
connection when the server closed it and what it answered (``408
REQUEST_TIMEOUT`` with this project's worker, nothing before).

Starts its own API (gunicorn + ``deploy/gunicorn.conf.py``, the real app; no
LLM server is needed for ``/health``) unless ``--url`` names a running one.
Extra settings for the started API: ``--env NAME=VALUE`` (e.g.
``--env GUNICORN_THREADS=4 --env CLIENT_READ_TIMEOUT=15``).

Usage::

    nice -n 10 .venv/bin/python bench/slowloris.py --connections 8 --hold 70
    nice -n 10 .venv/bin/python bench/slowloris.py --connections 16 --hold 40 --env GUNICORN_THREADS=4

Figures are printed, never asserted (no timed tests).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.services import start_api, stop  # noqa: E402


def stalled_upload(host: str, port: int, token: str, results: list, index: int, hold: float) -> None:
    start = time.monotonic()
    sock = socket.create_connection((host, port), timeout=hold + 10)
    head = ("POST /ocr HTTP/1.1\r\nHost: x\r\nX-API-Token: {t}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n").format(t=token)
    sock.sendall(head.encode() + b"--b\r\nContent-Disposition: form-data; name=\"image_file\"; filename=\"a.png\"\r\n")
    answer = b""
    closed_at = None
    sock.settimeout(0.5)
    while time.monotonic() - start < hold:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        except OSError:
            closed_at = time.monotonic() - start
            break
        if not chunk:
            closed_at = time.monotonic() - start
            break
        answer += chunk
    sock.close()
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace") if answer else ""
    code = ""
    if b"\r\n\r\n" in answer:
        try:
            code = json.loads(answer.split(b"\r\n\r\n", 1)[1]).get("error_code", "")
        except ValueError:
            pass
    results[index] = {"closed_after_s": None if closed_at is None else round(closed_at, 1),
                      "status": status, "error_code": code}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="running API (default: start one)")
    parser.add_argument("--port", type=int, default=18210, help="port of the API this script starts")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--hold", type=float, default=70.0, help="seconds each stalled client holds on")
    parser.add_argument("--token", default="bench")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the started API")
    args = parser.parse_args()

    api = None
    env = dict(kv.split("=", 1) for kv in args.env)
    if args.url:
        base = args.url.rstrip("/")
    else:
        log_dir = Path(tempfile.mkdtemp(prefix="slowloris-"))
        env.setdefault("HARD_TOKEN", args.token)
        env.setdefault("OCR_ENGINE", "rapidocr")
        api = start_api(args.port, log_dir, f"http://127.0.0.1:{args.port + 1}/v1", **env)
        base = api.url
        print(f"API log: {api.log}")
    host, port = base.split("//", 1)[1].split(":")
    try:
        results: list = [None] * args.connections
        threads = [threading.Thread(target=stalled_upload, args=(host, int(port), args.token, results, i, args.hold))
                   for i in range(args.connections)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        ok = failed = 0
        last_ok = time.monotonic()
        longest_gap = 0.0
        start = time.monotonic()
        while time.monotonic() - start < args.hold - 1:
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(base + "/health", timeout=2) as r:
                    r.read()
                ok += 1
                longest_gap = max(longest_gap, time.monotonic() - last_ok)
                last_ok = time.monotonic()
            except OSError:
                failed += 1
            time.sleep(max(0.0, 0.5 - (time.monotonic() - t0)))
        longest_gap = max(longest_gap, time.monotonic() - last_ok)
        for t in threads:
            t.join()
        closed = [r["closed_after_s"] for r in results if r["closed_after_s"] is not None]
        print(json.dumps({"connections": args.connections, "hold_s": args.hold, "env": env,
                          "health_ok": ok, "health_failed": failed, "longest_health_gap_s": round(longest_gap, 1),
                          "stalled_closed_by_server": len(closed),
                          "stalled_still_open_at_end": args.connections - len(closed),
                          "closed_after_s": sorted(closed),
                          "answers": sorted({f"{r['status']} {r['error_code']}".strip() or "(none)"
                                             for r in results})}))
    finally:
        stop(api)


if __name__ == "__main__":
    main()
