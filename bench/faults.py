"""Faults of the LLM server, timed: stalled (SIGSTOP), dead (SIGKILL), back.

Starts its own llama.cpp server and API (gunicorn, ``deploy/gunicorn.conf.py``)
and, one request at a time, measures:

* ``healthy``: an LLM-only ``/extract`` (a small printed note, one field) and a
  receipt with ``document_type`` (readers + one LLM field);
* ``stalled``: the same two while the LLM server is stopped with SIGSTOP: status,
  error code and seconds (bounded by ``REQUEST_TIMEOUT``, set with ``--request-timeout``);
* ``dead``: the LLM-only request five times after SIGKILL: status, code,
  ``Retry-After`` and seconds (the circuit opens after ``LLM_BREAKER_FAILURES``);
* ``recovery``: a new LLM server is started (and warmed with one tiny completion,
  as ``run.sh``'s supervisor does, unless ``--no-warm``); from the moment its
  ``/v1/models`` answers, the seconds until ``/ready`` is 200 and until the first
  correct LLM-only ``/extract`` (200, no field errors), asked back to back, with
  when that request was sent and how long it took itself. ``healthy_again`` then
  repeats the same request once, for comparison with the time one request takes.

Usage::

    nice -n 10 .venv/bin/python bench/faults.py --request-timeout 20
    nice -n 10 .venv/bin/python bench/faults.py --request-timeout 20 --no-warm   # the new server not warmed
    nice -n 10 .venv/bin/python bench/faults.py --request-timeout 300 --quick    # recovery only, loaded machine

Figures are printed, never asserted (no timed tests).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.services import ROOT, start_api, start_llm, stop  # noqa: E402

TOKEN = "faults-bench"
RECEIPT = ROOT.parent / "shared" / "data" / "sroie" / "images" / "X00016469619.jpg"
# A field no reader knows (captions, patterns, mapped field names): only the LLM can answer it.
LLM_ONLY = {"info": {"first_word": "the first word printed on the note"}, "llm_timeout": 300}
READERS = {"document_type": "receipt", "info": {"phone": "telephone number of the shop"}, "llm_timeout": 300}


def note_png() -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", (900, 260), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=48)
    draw.text((30, 40), "DATE 19/10/2018", fill="black", font=font)
    draw.text((30, 150), "TOTAL 60.30", fill="black", font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def post(base: str, config: dict, receipt: bool) -> dict:
    import requests

    upload = (RECEIPT.name, RECEIPT.read_bytes(), "image/jpeg") if receipt else ("note.png", note_png(), "image/png")
    start = time.monotonic()
    r = requests.post(base + "/extract", headers={"X-API-Token": TOKEN}, timeout=900,
                      files=[("image_file", upload)], data={"config": json.dumps(config)})
    body = r.json()
    out = {"status": r.status_code, "s": round(time.monotonic() - start, 2)}
    if r.status_code != 200:
        out["code"] = body.get("error_code")
    else:
        res = body["data"]["results"][0]
        out["fields"] = res["extracted_fields"]
        if res.get("field_errors"):
            out["field_errors"] = sorted({e["error_code"] for e in res["field_errors"].values()})
    if "Retry-After" in r.headers:
        out["retry_after"] = r.headers["Retry-After"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=18230, help="API port (the LLM server takes port + 1)")
    parser.add_argument("--request-timeout", type=float, default=20.0, help="REQUEST_TIMEOUT for the API")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the API")
    parser.add_argument("--no-warm", action="store_true", help="do not warm the restarted LLM server")
    parser.add_argument("--quick", action="store_true",
                        help="LLM-only requests, no stalled phase, 3 requests while dead: the recovery figure "
                             "in a third of the time (a heavily loaded machine)")
    args = parser.parse_args()
    import requests

    log_dir = Path(tempfile.mkdtemp(prefix="faults-"))
    env = {"HARD_TOKEN": TOKEN, "REQUEST_TIMEOUT": args.request_timeout, "GUNICORN_WORKERS": 1,
           **dict(kv.split("=", 1) for kv in args.env)}
    llm = start_llm(args.port + 1, log_dir)
    api = None
    out: dict = {"env": {k: str(v) for k, v in env.items()}}
    try:
        api = start_api(args.port, log_dir, llm.url, **env)
        base = api.url
        post(base, LLM_ONLY, False)  # warm-up
        out["healthy"] = {"llm_only": post(base, LLM_ONLY, False)}
        if not args.quick:
            out["healthy"]["readers"] = post(base, READERS, True)
            os.kill(llm.proc.pid, signal.SIGSTOP)
            out["stalled"] = {"llm_only": post(base, LLM_ONLY, False), "readers": post(base, READERS, True)}
            os.kill(llm.proc.pid, signal.SIGCONT)
            out["after_sigcont"] = post(base, LLM_ONLY, False)

        os.kill(llm.proc.pid, signal.SIGKILL)
        llm.proc.wait()
        out["dead"] = [post(base, LLM_ONLY, False) for _ in range(3 if args.quick else 5)]
        if not args.quick:
            out["dead_readers"] = post(base, READERS, True)

        llm = start_llm(args.port + 1, log_dir, warm=not args.no_warm)
        back = llm.answered_at  # the LLM's return: its /v1/models answers (the warm-up comes after)
        ready_s = first_ok_s = sent_s = None
        tries = []
        while time.monotonic() - back < 300 and (ready_s is None or first_ok_s is None):
            if ready_s is None and requests.get(base + "/ready", timeout=10).status_code == 200:
                ready_s = round(time.monotonic() - back, 2)
            if first_ok_s is None:
                sent = round(time.monotonic() - back, 2)
                r = post(base, LLM_ONLY, False)
                tries.append({"sent_after_s": sent, **{k: v for k, v in r.items() if k != "fields"}})
                if r["status"] == 200 and "field_errors" not in r:
                    first_ok_s, sent_s = round(time.monotonic() - back, 2), sent
                    out["first_ok"] = r
        out["recovery"] = {"warmup_s": llm.warmup_s, "ready_after_s": ready_s,
                           "first_correct_extract_after_s": first_ok_s, "that_request_sent_after_s": sent_s,
                           "extract_tries": tries}
        out["healthy_again"] = post(base, LLM_ONLY, False)
        out["loadavg_end"] = [round(x, 1) for x in os.getloadavg()]
        print(json.dumps(out, indent=1, ensure_ascii=False))
    finally:
        stop(api)
        stop(llm)


if __name__ == "__main__":
    main()
