"""HTTP routes of the jobs capability (thin: parse, call :class:`JobService`, shape).

``POST /jobs`` takes the same multipart form as ``/extract`` (``image_file``
parts and ``config``) or a JSON body ``{"source_url", "config"}``; both accept
``callback_url``, and the header ``Idempotency-Key``. See docs/jobs.md.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, g, jsonify, request

from app.api.auth import require_token
from app.api.uploads import read_uploads
from app.api.schemas import parse_extract_config
from app.errors import BadRequest, InvalidParameter
from app.jobs.store import STATUSES

jobs_api = Blueprint("jobs", __name__)
jobs_api.before_request(require_token)

REVIEW_STATUSES = ("approved", "manual_review")


def _jobs():
    return current_app.extensions["docextract_jobs"]


def _prefix() -> str:
    return "/id_card_scan" if (request.blueprint or "").endswith("_id_card_scan") else ""


def _status_url(job_id: str) -> str:
    return f"{_prefix()}/jobs/{job_id}"


def _text(value, name: str, limit: int = 2048) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidParameter(f"{name} must be a string of at most {limit} characters")
    return value.strip()


@jobs_api.post("/jobs")
def submit():
    """Queue a job; 202 with ``job_id``, ``status_url``, ``Location`` and ``Retry-After``."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise BadRequest("the JSON body must be an object")
        raw_config = body.get("config")
        config = parse_extract_config(json.dumps(raw_config) if isinstance(raw_config, dict) else raw_config)
        source_url = _text(body.get("source_url"), "source_url")
        callback_url = _text(body.get("callback_url"), "callback_url")
        if not source_url:
            raise BadRequest("a JSON job needs source_url (or send files as multipart/form-data)")
        uploads = []
    else:
        config = parse_extract_config(request.form.get("config"))
        source_url = _text(request.form.get("source_url"), "source_url")
        callback_url = _text(request.form.get("callback_url"), "callback_url")
        uploads = [] if source_url and not request.files.getlist("image_file") else read_uploads(_jobs().settings.max_files_per_request)
        if source_url and uploads:
            raise BadRequest("send either image_file parts or source_url, not both")
    key = _text(request.headers.get("Idempotency-Key"), "Idempotency-Key", 255)
    jobs = _jobs()
    row, created = jobs.submit(uploads=uploads, request=config.model_dump(), source_url=source_url,
                               callback_url=callback_url, idempotency_key=key)
    url = _status_url(row["id"])
    response = jsonify({"success": True, "message": "Job queued" if created else "Job already submitted",
                        "trace_id": g.trace_id, "job_id": row["id"], "status": row["status"], "status_url": url})
    response.status_code = 202 if created else 200
    response.headers["Location"] = url
    response.headers["Retry-After"] = "2"
    return response


@jobs_api.get("/jobs/<job_id>")
def get_job(job_id: str):
    """The job: status, progress, timings, attempts, result, error, history, webhook log.
    ``?wait=S`` long-polls up to S seconds (at most ``JOB_MAX_WAIT``) for it to finish."""
    jobs = _jobs()
    wait = _number_arg("wait", 0.0, 0.0, jobs.settings.job_max_wait, float)
    row = jobs.get(job_id, wait=wait)
    response = jsonify({"success": True, "trace_id": g.trace_id,
                        **jobs.public(row, _status_url(row["id"]))})
    if row["status"] in ("queued", "running"):
        response.headers["Retry-After"] = "2"
    return response


@jobs_api.get("/jobs")
def list_jobs():
    """Jobs newest first: ``?status=&review_status=&limit=&cursor=``."""
    jobs = _jobs()
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        raise InvalidParameter(f"status must be one of {', '.join(STATUSES)}")
    review_status = request.args.get("review_status") or None
    if review_status is not None and review_status not in REVIEW_STATUSES:
        raise InvalidParameter(f"review_status must be one of {', '.join(REVIEW_STATUSES)}")
    limit = _number_arg("limit", 50, 1, 200, int)
    try:
        rows, cursor = jobs.list(status=status, review_status=review_status, limit=limit,
                                 cursor=request.args.get("cursor") or None)
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("cursor is not one this service returned") from None
    return jsonify({"success": True, "trace_id": g.trace_id, "next_cursor": cursor,
                    "jobs": [jobs.public(r, _status_url(r["id"]), detail=False) for r in rows]})


@jobs_api.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str):
    """Cancel: at once when queued, at the next stage boundary when running (409 when finished)."""
    jobs = _jobs()
    row = jobs.cancel(job_id)
    return jsonify({"success": True, "trace_id": g.trace_id, "message": "Cancel requested",
                    **jobs.public(row, _status_url(row["id"]), detail=False)}), 202


@jobs_api.delete("/jobs/<job_id>")
def delete_job(job_id: str):
    """Delete the job, its history and its stored files."""
    _jobs().delete(job_id)
    return jsonify({"success": True, "trace_id": g.trace_id, "message": "Job deleted", "job_id": job_id})


def _number_arg(name: str, default, low, high, kind):
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise InvalidParameter(f"{name} must be a number") from None
    if not low <= value <= high:
        raise InvalidParameter(f"{name} must be between {low:g} and {high:g}")
    return value
