"""Sample webhook receiver: verifies Standard Webhooks signatures and prints each event.

    WEBHOOK_SECRET=whsec_... python bench/webhook_receiver.py --port 18590 [--log events.jsonl]

Point a job's ``callback_url`` at ``http://<this host>:18590/hook``. Each
request is verified with the ``standardwebhooks`` package (the same secret as
the service's ``WEBHOOK_SECRET``); a bad or stale signature gets 400, a good one
204. Events are de-duplicated by ``webhook-id`` (a retried delivery carries the
same id), as a receiver should.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def make_handler(secret: str, log_path: str | None):
    verifier = Webhook(secret)
    seen: set[str] = set()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server API)
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                event = verifier.verify(body, headers)
            except WebhookVerificationError as e:
                self.send_response(400)
                self.end_headers()
                self.wfile.write(f"bad signature: {e}".encode())
                return
            webhook_id = headers["webhook-id"]
            with lock:
                duplicate = webhook_id in seen
                seen.add(webhook_id)
                record = {"webhook_id": webhook_id, "duplicate": duplicate, "verified": True, "event": event}
                line = json.dumps(record, ensure_ascii=False)
                print(line if not log_path else f"{event['type']} {event['job_id']} "
                      f"review={event.get('review_status')} duplicate={duplicate}", flush=True)
                if log_path:
                    with open(log_path, "a", encoding="utf-8") as f:
                        f.write(line + "\n")
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18590)
    parser.add_argument("--log", help="append verified events (JSON lines) to this file")
    args = parser.parse_args(argv)
    secret = os.environ.get("WEBHOOK_SECRET", "")
    if not secret:
        print("set WEBHOOK_SECRET (the service's whsec_... secret)", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer((args.host, args.port), make_handler(secret, args.log))
    print(f"listening on http://{args.host}:{server.server_address[1]}/hook", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
