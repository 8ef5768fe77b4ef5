"""Per-call latency over gRPC vs HTTP on the same documents.

    nice -n 10 .venv/bin/python bench/grpc_vs_http.py --docs 5 --repeat 3            # Ocr vs POST /ocr
    nice -n 10 .venv/bin/python bench/grpc_vs_http.py --op extract --llm-url URL     # Extract vs POST /extract

One process builds the services once (:func:`app.build_services`: the default
OCR engine, warm) and serves them through both doors on 127.0.0.1 free ports:
the Flask app (:func:`app.create_app`) under werkzeug's threaded server, and
the gRPC server (:func:`app.grpc.server.create_server`). Each document (SROIE
receipts from ../shared/data, read in place) is sent through each door
``--repeat`` times, the doors alternating, after one warm-up call each;
client-side wall time per call is recorded. A 64x32 blank PNG is measured the
same way to show the transport's own cost (OCR finds nothing on it).

Prints a table (median and p90 ms per door, and the median of the per-call
gRPC - HTTP difference) and, with ``--json``, the raw figures.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "sroie" / "images"


def _tiny_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 32), (255, 255, 255)).save(buf, format="PNG")
    return buf.getvalue()


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--op", choices=("ocr", "extract"), default="ocr")
    parser.add_argument("--docs", type=int, default=5, help="SROIE receipts (first N by name)")
    parser.add_argument("--repeat", type=int, default=3, help="calls per document and door")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of images (default: SROIE)")
    parser.add_argument("--llm-url", default="http://127.0.0.1:9/v1",
                        help="LLM server for --op extract (default: none; fields then come from the readers)")
    parser.add_argument("--engine", choices=("rapidocr", "hybrid", "paddleocr"), default=None,
                        help="OCR_ENGINE (default: the service default)")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args(argv)

    import grpc
    import requests
    from werkzeug.serving import WSGIRequestHandler, make_server

    from app import build_services, create_app
    from app.config import Settings
    from app.grpc.generated.docextract.v1 import extraction_service_pb2 as v1
    from app.grpc.generated.docextract.v1 import extraction_service_pb2_grpc as v1_grpc
    from app.grpc.server import create_server

    paths = sorted(args.data.glob("*.jpg"))[: args.docs]
    if not paths:
        raise SystemExit(f"no .jpg documents in {args.data}")
    documents = [("blank-64x32.png", _tiny_png())] + [(p.name, p.read_bytes()) for p in paths]

    settings = Settings(hard_token="", llm_api_url=args.llm_url, llm_max_retries=0, log_level="WARNING",
                        grpc_drain_delay=0.0)
    if args.engine:
        settings = settings.with_overrides(ocr_engine=args.engine)
    services = build_services(settings)
    app = create_app(settings, ocr_engine=services.ocr_engine, llm_client=services.llm)
    WSGIRequestHandler.log_request = lambda *a, **k: None  # no access log lines between the figures
    http_server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=http_server.serve_forever, daemon=True).start()
    http_url = f"http://127.0.0.1:{http_server.server_port}"
    grpc_server, grpc_port = create_server("127.0.0.1:0", settings, services.pipeline)
    grpc_server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
    stub = v1_grpc.ExtractionServiceStub(channel)
    session = requests.Session()
    config = json.dumps({"document_type": "receipt"})

    def call_http(name: str, data: bytes) -> float:
        start = time.perf_counter()
        form = {"config": config} if args.op == "extract" else {}
        r = session.post(f"{http_url}/{args.op}", files={"image_file": (name, data)}, data=form, timeout=600)
        elapsed = (time.perf_counter() - start) * 1000
        if r.status_code != 200:
            raise SystemExit(f"HTTP {r.status_code} on {name}: {r.text[:300]}")
        return elapsed

    def call_grpc(name: str, data: bytes) -> float:
        start = time.perf_counter()
        if args.op == "extract":
            stub.Extract(v1.ExtractRequest(content=data, filename=name, document_type="receipt"), timeout=600)
        else:
            stub.Ocr(v1.OcrRequest(content=data, filename=name), timeout=600)
        return (time.perf_counter() - start) * 1000

    rows = []
    try:
        for name, data in documents:
            call_http(name, data), call_grpc(name, data)  # warm-up
            http_ms, grpc_ms = [], []
            for i in range(args.repeat):
                order = (call_http, call_grpc) if i % 2 == 0 else (call_grpc, call_http)
                for fn in order:
                    (http_ms if fn is call_http else grpc_ms).append(fn(name, data))
            rows.append({"document": name, "bytes": len(data), "http_ms": http_ms, "grpc_ms": grpc_ms})
    finally:
        channel.close()
        grpc_server.stop(0)
        http_server.shutdown()

    print(f"op={args.op} docs={len(paths)} (+ blank) repeat={args.repeat} engine={settings.ocr_engine}")
    print(f"{'document':<22}{'KiB':>7}{'HTTP med':>10}{'HTTP p90':>10}{'gRPC med':>10}{'gRPC p90':>10}"
          f"{'gRPC-HTTP':>11}")
    for row in rows:
        diff = statistics.median(g - h for g, h in zip(row["grpc_ms"], row["http_ms"]))
        print(f"{row['document']:<22}{row['bytes'] / 1024:>7.0f}{statistics.median(row['http_ms']):>10.1f}"
              f"{_p(row['http_ms'], 0.9):>10.1f}{statistics.median(row['grpc_ms']):>10.1f}"
              f"{_p(row['grpc_ms'], 0.9):>10.1f}{diff:>+11.1f}")
    receipts = rows[1:]
    all_http = [v for r in receipts for v in r["http_ms"]]
    all_grpc = [v for r in receipts for v in r["grpc_ms"]]
    diffs = [g - h for r in receipts for g, h in zip(r["grpc_ms"], r["http_ms"])]
    print(f"{'receipts (all calls)':<29}{statistics.median(all_http):>10.1f}{_p(all_http, 0.9):>10.1f}"
          f"{statistics.median(all_grpc):>10.1f}{_p(all_grpc, 0.9):>10.1f}{statistics.median(diffs):>+11.1f}")
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
