"""Log formatting: one JSON object per line when ``LOG_FORMAT=json``.

Each line carries ``ts`` (ISO 8601, UTC), ``level``, ``logger``, ``message``,
``trace_id`` and whatever the call put in ``extra=`` among
:data:`EXTRA_KEYS` (the request line sets ``route``, ``method``, ``status``,
``duration_ms``, ``document_type``). Document text and field values never go
into a log line unless ``LOG_DOCUMENT_TEXT=true``: the request line adds
``fields`` (key -> value) only then.

Uses the standard library's :mod:`logging` and :mod:`json`; the format follows
the JSON-lines convention (https://jsonlines.org/).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

#: ``extra=`` attributes copied into a JSON line when a record has them.
EXTRA_KEYS = ("route", "method", "status", "duration_ms", "document_type", "files", "error_code", "fields",
              "job_id", "client")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (no newline inside)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", "-"),
        }
        for key in EXTRA_KEYS:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for ``LOG_FORMAT``: ``json`` or ``text`` (the service's plain line)."""
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter("%(asctime)s %(levelname)s [%(trace_id)s] %(name)s: %(message)s")


# Third-party loggers that log request bodies (the prompt, i.e. document text) at DEBUG:
# kept at INFO even when LOG_LEVEL=debug (docs/security.md).
_BODY_LOGGERS = ("openai", "httpx", "httpx2", "httpcore", "httpcore2", "urllib3")


def configure_logging(level: str, log_format: str = "text") -> None:
    """Log lines to stderr with the request's trace id (gunicorn collects them);
    one JSON object per line when ``log_format`` is ``json`` (:class:`JsonFormatter`)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_docextract", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler._docextract = True  # type: ignore[attr-defined]
        handler.addFilter(_TraceIdFilter())
        root.addHandler(handler)
    handler.setFormatter(formatter(log_format))
    root.setLevel(level)
    for name in _BODY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))


class _TraceIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        from flask import g, has_request_context

        record.trace_id = g.get("trace_id", "-") if has_request_context() else "-"
        return True
