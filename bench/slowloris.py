"""Slow and idle connections against the API: do probes and real requests still answer?

Holds ``--connections`` N connections of each kind open against the server for
``--hold`` seconds (a connection the server closes is opened again at once, so N
stay open all the time, as an attacker or a crowd of phones would keep them):

* ``silent``: TCP connections that never send a request line;
* ``idle``: connections that sent one ``GET /health`` (keep-alive) and then say nothing;
* ``slow``: ``POST /ocr`` uploads sending complete headers, then their multipart body at
  one byte a second (``--slow-rate``).

Meanwhile a probe client asks ``GET /health`` every 0.2 s and ``/ready`` and ``/metrics``
every second (new connection each time, 5 s timeout), and one client sends ``/extract``
of a SROIE receipt (``document_type: receipt``) back to back. The same extraction is
timed three times before the connections open, in the same run, as the anchor.
Reports the probes' p50/p99/max latency and failures, the extraction times before
and during, how the server treated each kind (closed after how long, with what
answer), worker restarts (worker pids before and after) and the peak RSS of the
server's processes (sampled every second). With ``--live-upload MB`` it then sends a
PDF of that size at ``--live-rate`` kB/s and says whether it was accepted.

Starts its own API (gunicorn + ``deploy/gunicorn.conf.py``, the real app, hybrid OCR
unless ``--env OCR_ENGINE=...``; the LLM URL points at a closed port, so each LLM
call fails at once, before and during alike) unless ``--url`` names a running one.

Usage::

    nice -n 10 .venv/bin/python bench/slowloris.py --connections 16 --hold 60
    nice -n 10 .venv/bin/python bench/slowloris.py --connections 256 --hold 60
    nice -n 10 .venv/bin/python bench/slowloris.py --connections 0 --live-upload 10 --live-rate 20

Figures are printed as one JSON object, never asserted (no timed tests).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import selectors
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.services import rss_tree, start_api, stop  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SROIE = ROOT.parent / "shared" / "data" / "sroie" / "images"
CONFIG = json.dumps({"document_type": "receipt"})
BOUNDARY = "slowbodyboundary"


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)


class Attack:
    """N connections of each kind, kept open from one selector thread."""

    def __init__(self, host: str, port: int, token: str, n: int, slow_rate: float):
        self.host, self.port, self.token, self.n, self.slow_rate = host, port, token, n, slow_rate
        self.sel = selectors.DefaultSelector()
        self.conns: dict[socket.socket, dict] = {}
        self.closed: dict[str, list[tuple[float, str]]] = {"silent": [], "idle": [], "slow": []}
        self.connect_failures = 0
        self.stop_at = 0.0

    def _open(self, kind: str) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=5)
        except OSError:
            self.connect_failures += 1
            return
        if kind == "idle":
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        elif kind == "slow":
            sock.sendall(("POST /ocr HTTP/1.1\r\nHost: x\r\nX-API-Token: {t}\r\n"
                          "Content-Type: multipart/form-data; boundary={b}\r\nContent-Length: 100000\r\n\r\n")
                         .format(t=self.token, b=BOUNDARY).encode())
        sock.setblocking(False)
        self.conns[sock] = {"kind": kind, "opened": time.monotonic(), "answer": b"", "next_byte": time.monotonic()}
        self.sel.register(sock, selectors.EVENT_READ)

    def _close(self, sock: socket.socket) -> None:
        info = self.conns.pop(sock)
        self.sel.unregister(sock)
        sock.close()
        answer = info["answer"]
        if info["kind"] == "idle":  # its /health answer came first
            answer = answer.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in answer else b""
            answer = answer[answer.find(b"HTTP/1.1"):] if b"HTTP/1.1" in answer else b""
        status = answer.split(b"\r\n", 1)[0].decode(errors="replace") if answer else "(no answer)"
        code = ""
        if b'"error_code"' in answer:
            try:
                code = json.loads(answer.split(b"\r\n\r\n", 1)[1]).get("error_code", "")
            except (ValueError, IndexError):
                pass
        self.closed[info["kind"]].append((time.monotonic() - info["opened"], f"{status} {code}".strip()))

    def run(self, hold: float) -> None:
        self.stop_at = time.monotonic() + hold
        for kind in ("silent", "idle", "slow"):
            for _ in range(self.n):
                self._open(kind)
        body = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"image_file\"; filename=\"a.png\"\r\n\r\n"
                ).encode() + b"x" * 100000
        while time.monotonic() < self.stop_at:
            for key, _ in self.sel.select(timeout=0.1):
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:  # an answer (or, for idle ones, the answer to their /health): wait for the close
                    self.conns[sock]["answer"] += data
                    continue
                kind = self.conns[sock]["kind"]
                self._close(sock)
                self._open(kind)  # keep N open
            now = time.monotonic()
            for sock, info in list(self.conns.items()):
                if info["kind"] == "slow" and now >= info["next_byte"]:
                    sent = info.setdefault("sent", 0)
                    try:
                        sock.send(body[sent:sent + 1])
                        info["sent"] = sent + 1
                    except OSError:
                        pass
                    info["next_byte"] = now + 1.0 / self.slow_rate
        still = {k: sum(1 for i in self.conns.values() if i["kind"] == k) for k in self.closed}
        for sock in list(self.conns):
            self.sel.unregister(sock)
            sock.close()
        self.still_open = still

    def report(self) -> dict:
        out = {}
        for kind, closed in self.closed.items():
            answers: dict[str, int] = {}
            for _, a in closed:
                answers[a] = answers.get(a, 0) + 1
            out[kind] = {"closed_by_server": len(closed), "still_open_at_end": self.still_open[kind],
                         "closed_after_s_median": round(statistics.median([t for t, _ in closed]), 1) if closed else None,
                         "answers": answers}
        out["connect_failures"] = self.connect_failures
        return out


def probe(base: str, paths: tuple[str, ...], every: float, stop_at: float, out: dict) -> None:
    while time.monotonic() < stop_at:
        for path in paths:
            t0 = time.monotonic()
            try:
                r = requests.get(base + path, timeout=5, headers={"Connection": "close"})
                out.setdefault(path, []).append(time.monotonic() - t0)
                if r.status_code >= 500 and path != "/ready":
                    out.setdefault(path + " failed", []).append(r.status_code)
            except requests.RequestException:
                out.setdefault(path + " failed", []).append("timeout")
        time.sleep(max(0.0, every - (time.monotonic() - t0)))


def extract_once(base: str, token: str, image: Path) -> tuple[float, int]:
    t0 = time.monotonic()
    r = requests.post(base + "/extract", headers={"X-API-Token": token}, timeout=300,
                      files=[("image_file", (image.name, image.read_bytes(), "image/jpeg"))], data={"config": CONFIG})
    return time.monotonic() - t0, r.status_code


def worker_pids(master: int) -> set[int]:
    import psutil

    try:
        return {p.pid for p in psutil.Process(master).children()}
    except psutil.Error:
        return set()


def live_upload(base: str, token: str, megabytes: float, rate_kb: float) -> dict:
    """POST /ocr of a ``megabytes`` PDF (one text page plus an incompressible attachment) at ``rate_kb`` kB/s."""
    from pypdf import PdfWriter
    from reportlab.pdfgen import canvas

    page = io.BytesIO()
    c = canvas.Canvas(page)
    c.drawString(72, 720, "TOTAL 12.50")
    c.save()
    writer = PdfWriter(clone_from=io.BytesIO(page.getvalue()))
    writer.add_attachment("padding.bin", os.urandom(int(megabytes * 1e6)))
    pdf = io.BytesIO()
    writer.write(pdf)
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"image_file\"; filename=\"big.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    body = head + pdf.getvalue() + f"\r\n--{BOUNDARY}--\r\n".encode()
    host, port = base.split("//", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)), timeout=60)
    sock.sendall((f"POST /ocr HTTP/1.1\r\nHost: x\r\nX-API-Token: {token}\r\nConnection: close\r\n"
                  f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n\r\n")
                 .encode())
    t0 = time.monotonic()
    step = max(1, int(rate_kb * 1000 / 10))  # ten sends a second
    for i in range(0, len(body), step):
        sock.sendall(body[i:i + step])
        time.sleep(max(0.0, (i + step) / (rate_kb * 1000) - (time.monotonic() - t0)))
    sent_s = time.monotonic() - t0
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    return {"bytes": len(body), "send_s": round(sent_s, 1), "answered_after_s": round(time.monotonic() - t0, 1),
            "status": answer.split(b"\r\n", 1)[0].decode(errors="replace")}


NGINX_CONF = """
user {user};
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    upstream api {{ server 127.0.0.1:{api_port}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 50m;
        proxy_request_buffering on;
        client_header_timeout 15s;
        client_body_timeout 15s;
        location / {{
            proxy_pass http://api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


def start_nginx(port: int, api_port: int, log_dir: Path):
    """nginx (Debian's ``nginx``) on 127.0.0.1:``port`` buffering requests for the API, as
    ``deploy/nginx.conf.example`` does (plain HTTP, one worker process)."""
    import shutil
    import subprocess

    import getpass

    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    conf = log_dir / "nginx.conf"
    # Started as root, nginx's worker would switch to "nobody" and could not write its body
    # buffers into this run's private folder: keep it the current user (ignored when not root).
    conf.write_text(NGINX_CONF.format(dir=log_dir, port=port, api_port=api_port, user=getpass.getuser()))
    proc = subprocess.Popen([exe, "-c", str(conf), "-p", str(log_dir), "-g", "daemon off;"])
    from bench.services import wait_url

    wait_url(f"http://127.0.0.1:{port}/health", 30, proc)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="running API (default: start one)")
    parser.add_argument("--port", type=int, default=18210, help="port of the API this script starts")
    parser.add_argument("--connections", type=int, default=16, help="connections of each kind")
    parser.add_argument("--hold", type=float, default=60.0, help="seconds the connections are held")
    parser.add_argument("--slow-rate", type=float, default=1.0, help="bytes a second each slow upload sends")
    parser.add_argument("--live-upload", type=float, default=0.0, help="MB of a PDF sent at --live-rate afterwards")
    parser.add_argument("--live-rate", type=float, default=20.0, help="kB/s of the live upload")
    parser.add_argument("--front", choices=("none", "nginx"), default="none",
                        help="nginx: put nginx (buffering, deploy/nginx.conf.example) in front of the started API")
    parser.add_argument("--token", default="bench")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the started API")
    args = parser.parse_args()

    api = nginx = None
    env = dict(kv.split("=", 1) for kv in args.env)
    if args.url:
        base = args.url.rstrip("/")
    else:
        log_dir = Path(tempfile.mkdtemp(prefix="slowloris-"))
        env.setdefault("HARD_TOKEN", args.token)
        env.setdefault("LLM_MAX_RETRIES", "0")
        api = start_api(args.port, log_dir, f"http://127.0.0.1:{args.port + 1}/v1", **env)
        base = api.url
        print(f"API log: {api.log}", file=sys.stderr)
        if args.front == "nginx":
            nginx = start_nginx(args.port + 2, args.port, log_dir)
            base = f"http://127.0.0.1:{args.port + 2}"
    host, port = base.split("//", 1)[1].split(":")
    result: dict = {"front": args.front, "connections_each": args.connections, "kinds": ["silent", "idle", "slow"],
                    "hold_s": args.hold, "env": env, "load_average_at_start": os.getloadavg()}
    try:
        image = sorted(SROIE.glob("*.jpg"))[0]
        extract_once(base, args.token, image)  # warm-up
        before = [extract_once(base, args.token, image) for _ in range(3)]
        result["extract_before_s"] = [round(t, 2) for t, _ in before]
        pids_before = worker_pids(api.proc.pid) if api else set()
        peak = {"rss_mb": 0.0}
        if args.connections:
            attack = Attack(host, int(port), args.token, args.connections, args.slow_rate)
            attacker = threading.Thread(target=attack.run, args=(args.hold,))
            attacker.start()
            time.sleep(2.0)  # let the connections open
            stop_at = time.monotonic() + args.hold - 4
            probes: dict = {}
            threads = [threading.Thread(target=probe, args=(base, ("/health",), 0.2, stop_at, probes)),
                       threading.Thread(target=probe, args=(base, ("/ready", "/metrics"), 1.0, stop_at, probes))]
            for t in threads:
                t.start()
            during = []
            while time.monotonic() < stop_at:
                if api:
                    rss = sum(rss_tree(api.proc.pid).values()) + (sum(rss_tree(nginx.pid).values()) if nginx else 0)
                    peak["rss_mb"] = max(peak["rss_mb"], rss)
                if time.monotonic() < stop_at - 5:
                    during.append(extract_once(base, args.token, image))
            for t in threads:
                t.join()
            attacker.join()
            result["probes"] = {
                path: {"n": len(probes.get(path, [])), "p50_ms": _percentile(probes.get(path, []), 0.5),
                       "p99_ms": _percentile(probes.get(path, []), 0.99),
                       "max_ms": _percentile(probes.get(path, []), 1.0),
                       "failed": len(probes.get(path + " failed", []))}
                for path in ("/health", "/ready", "/metrics")}
            result["extract_during_s"] = [round(t, 2) for t, _ in during]
            result["extract_during_statuses"] = sorted({s for _, s in during})
            result["connections"] = attack.report()
        if args.live_upload:
            result["live_upload"] = live_upload(base, args.token, args.live_upload, args.live_rate)
        if api:
            pids_after = worker_pids(api.proc.pid)
            result["workers_restarted"] = len(pids_before - pids_after)
            result["peak_rss_mb_server"] = round(max(peak["rss_mb"], sum(rss_tree(api.proc.pid).values())), 1)
        print(json.dumps(result))
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        stop(api)


if __name__ == "__main__":
    main()
