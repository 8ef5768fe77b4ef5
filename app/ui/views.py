"""Routes of the review UI (``/ui/``): thin, like the API's.

Pages are server-rendered Jinja templates; the review page's edits go to small
JSON endpoints under ``/ui/api/`` (CSRF token in the ``X-CSRFToken`` header).
"Try it" submits a job through :class:`app.jobs.service.JobService`, so an
upload runs the one pipeline, is persisted and lands in the review queue.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request, session, url_for

from flask_wtf.csrf import CSRFError

from app.api.errors import error_response
from app.api.uploads import read_uploads
from app.api.schemas import validate_extract_config
from app.errors import BadRequest, InvalidParameter, JobNotFound, NotFound
from app.extraction.doctypes import DOCUMENT_TYPES
from app.jobs.review_store import REVIEW_STATUSES
from app.jobs.store import iso
from app.ui import documents as docs
from app.ui.auth import current_user, has_role, login_session, require, sign_in

ui = Blueprint("ui", __name__, url_prefix="/ui", template_folder="templates", static_folder="static")

#: The UI's own Content-Security-Policy (the API's is ``default-src 'none'``): scripts, styles and
#: images from this origin only, no inline script, nothing framed, forms post here only.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_STATUS_ORDER = {"manual_review": 0, "rejected": 1, "approved": 2}
#: how many of the newest jobs the queue, search and exports look at
QUEUE_SCAN = 2000


@ui.after_request
def _headers(response):
    response.headers["Content-Security-Policy"] = CSP
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@ui.before_request
def _csrf():
    """Every state-changing request of the UI needs the session's CSRF token (form field or header)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        current_app.extensions["csrf"].protect()


@ui.errorhandler(CSRFError)
def _csrf_error(e: CSRFError):
    """A post without a valid CSRF token: the sign-in form is shown again (its token may simply have
    expired); anything else answers 400 ``BAD_REQUEST`` in the API's error shape."""
    if request.path == url_for("ui.login"):
        return render_template("login.html", next="", error="The form expired; sign in again"), 400
    return error_response(BadRequest(f"CSRF check failed: {e.description}"))


def _jobs():
    return current_app.extensions["docextract_jobs"]


def _reviews():
    return current_app.extensions["docextract_ui"].reviews


def _settings():
    return current_app.extensions["docextract"].settings


@ui.app_template_filter("shown")
def _shown(value) -> str:
    """A value as a person reads it: text as is, anything else as compact JSON ('' for None)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@ui.context_processor
def _context():
    user = current_user()
    return {"user": user, "is_reviewer": has_role(user, "reviewer"), "is_admin": has_role(user, "admin")}


# ---------------------------------------------------------------------------- sign-in
@ui.get("/")
def index():
    user = current_user()
    if user is None:
        return render_template("login.html", next=_safe_next(request.args.get("next")), error=None)
    return redirect(url_for("ui.queue" if has_role(user, "reviewer") else "ui.try_it"))


def _safe_next(target: str | None) -> str:
    """Only a path inside the UI (never another host: no open redirect)."""
    if target and target.startswith("/ui/") and not target.startswith("//") and "\\" not in target:
        return target
    return ""


@ui.post("/login")
def login():
    _jobs().ensure_ready()
    user = sign_in(request.form.get("name", ""), request.form.get("key", ""))
    if user is None:
        return render_template("login.html", next=_safe_next(request.form.get("next")),
                               error="Unknown name or key"), 401
    login_session(user)
    return redirect(_safe_next(request.form.get("next")) or url_for("ui.index"))


@ui.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("ui.index"))


# ---------------------------------------------------------------------------- try it
@ui.get("/try")
@require("client")
def try_it():
    return render_template("try.html", types=list(DOCUMENT_TYPES), error=None)


@ui.post("/try")
@require("client")
def try_submit():
    document_type = request.form.get("document_type") or "auto"
    config = validate_extract_config({"document_type": document_type, "display_text_box": True})
    jobs = _jobs()
    row, _ = jobs.submit(uploads=read_uploads(jobs.settings.max_files_per_request), request=config.model_dump(),
                         source_url=None, callback_url=None, idempotency_key=None)
    session["mine"] = ([row["id"]] + [j for j in session.get("mine", []) if j != row["id"]])[:50]
    return redirect(url_for("ui.job", job_id=row["id"]))


def _job(job_id: str) -> dict:
    user = current_user()
    if not has_role(user, "reviewer") and job_id not in session.get("mine", []):
        raise JobNotFound(f"No job {job_id!r}")
    return _jobs().get(job_id)


@ui.get("/jobs/<job_id>")
@require("client")
def job(job_id: str):
    row = _job(job_id)
    results = (row.get("result") or {}).get("results") or []
    return render_template("job.html", job=row, results=results, finished=row["status"] not in ("queued", "running"))


@ui.get("/api/jobs/<job_id>")
@require("client")
def job_status(job_id: str):
    row = _job(job_id)
    return jsonify({"job_id": row["id"], "status": row["status"], "stage": row["stage"],
                    "done": row["progress_done"], "total": row["progress_total"]})


# ---------------------------------------------------------------------------- documents
def _document(job_id: str, index: int) -> tuple[dict, dict, dict | None]:
    row = _job(job_id)
    result = docs.file_result(row, index)
    if result is None:
        raise NotFound(f"No document {index} in job {job_id!r}")
    return row, result, _reviews().get(job_id, index)


@ui.get("/doc/<job_id>/<int:index>")
@require("client")
def document(job_id: str, index: int):
    row, result, review = _document(job_id, index)
    threshold = _settings().review_threshold
    out = docs.effective(result, review) if result.get("success") else None
    fields = []
    for key, info in (result.get("fields") or {}).items():
        eff = out["fields"][key]
        fields.append({"key": key, "kind": docs.field_kind(result.get("document_type"), key), "model": info,
                       "value": eff["value"], "normalized": eff["normalized"], "corrected": eff["corrected"],
                       "attention": [] if eff["corrected"] else docs.attention(info, threshold),
                       "page": info.get("page"), "box": info.get("box")})
    pages = []
    for page in result.get("pages") or []:
        pages.append({"number": page["page"], "width": page["width"], "height": page["height"],
                      "lines": [ln for ln in page.get("ocr_data") or [] if ln.get("box")],
                      "fields": [f for f in fields if f["page"] == page["page"] and f["box"]],
                      "item_boxes": [(i, r) for i, r in enumerate(result.get("line_items") or [])
                                if r.get("page") == page["page"] and r.get("box")]})
    status = docs.status_of(row, review)
    return render_template("doc.html", job=row, index=index, result=result, review=review, status=status,
                           fields=fields, pages=pages, output=out, columns=docs.LINE_ITEM_COLUMNS,
                           audit=_reviews().audit(job_id, index), can_edit=has_role(current_user(), "reviewer"),
                           raw=json.dumps(result, ensure_ascii=False, indent=2),
                           next_url=_next_in_queue(job_id, index))


@ui.get("/doc/<job_id>/<int:index>/page/<int:number>.png")
@require("client")
def page_image(job_id: str, index: int, number: int):
    """Page ``number`` of the stored file as PNG, at the pixel size the result's boxes use
    (PDF pages rendered at ``PDF_DPI`` by :mod:`app.documents`)."""
    from PIL import Image

    from app.documents.document import DocumentLimits, open_document

    row, result, _ = _document(job_id, index)
    stored = row["files"][index] if index < len(row["files"]) else None
    if stored is None:
        raise NotFound("The stored file is gone")
    path = _jobs().store.job_dir(job_id) / stored["path"]
    if not path.exists():
        raise NotFound("The stored file is gone (purged)")
    with open_document(path.read_bytes(), DocumentLimits.from_settings(_settings())) as document:
        page = next((p for p in document.pages() if p.number == number), None)
        if page is None:
            raise NotFound(f"No page {number}")
        image = page.image()
    buf = io.BytesIO()
    Image.fromarray(image[:, :, ::-1]).save(buf, format="PNG", optimize=False, compress_level=3)
    response = Response(buf.getvalue(), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@ui.get("/doc/<job_id>/<int:index>.json")
@require("client")
def document_json(job_id: str, index: int):
    """The document's output after corrections, as a download."""
    row, result, review = _document(job_id, index)
    body = {"job_id": job_id, "file_index": index, "filename": result.get("filename"),
            "review_status": docs.status_of(row, review), "model_output": result,
            "corrected_output": docs.effective(result, review) if result.get("success") else None}
    response = current_app.response_class(json.dumps(body, ensure_ascii=False, indent=2),
                                          mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{job_id}-{index}.json"'
    return response


def _json_object() -> dict:
    """The request's JSON body as an object (an empty or unparsable body reads as ``{}``).

    Raises:
        InvalidParameter: the body is JSON but not an object (a list, a string, a number).
    """
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidParameter("the request body must be a JSON object")
    return body


@ui.post("/api/doc/<job_id>/<int:index>/field")
@require("reviewer")
def edit_field(job_id: str, index: int):
    """Correct one field: ``{"key", "value"}`` -> ``{"value", "normalized"}``; 400 ``INVALID_PARAMETER``
    with the reason when the value does not read as its kind (a bad date)."""
    row, result, _ = _document(job_id, index)
    body = _json_object()
    key = body.get("key")
    if not isinstance(key, str) or key not in (result.get("fields") or {}):
        raise InvalidParameter("key must name a field of this document")
    clean = docs.validate_value(result.get("document_type"), key, body.get("value"))
    review = _reviews().change(job_id, index, current_user()["name"], fields={key: clean}, original=result,
                               initial_status=docs.status_of(row, None))
    return jsonify({"success": True, **clean, "status": review["status"]})


@ui.post("/api/doc/<job_id>/<int:index>/line_items")
@require("reviewer")
def edit_line_items(job_id: str, index: int):
    """Replace the line-item table: ``{"items": [{description, quantity, unit, unit_price, amount}]}``."""
    row, result, review = _document(job_id, index)
    items = docs.validate_line_items(_json_object().get("items"))
    before = docs.effective(result, review).get("line_items")
    if items != before:  # the model's rows as shown (columns only), or the last correction
        _reviews().change(job_id, index, current_user()["name"], line_items=items,
                          original={**result, "line_items": before}, initial_status=docs.status_of(row, None))
    return jsonify({"success": True, "items": items, "changed": items != before})


@ui.post("/doc/<job_id>/<int:index>/decision")
@require("reviewer")
def decision(job_id: str, index: int):
    """Approve, reject or reopen (form ``decision``); then the next document in the queue."""
    row, result, _ = _document(job_id, index)
    status = {"approve": "approved", "reject": "rejected", "reopen": "manual_review"}.get(
        request.form.get("decision", ""))
    if status not in REVIEW_STATUSES:
        raise InvalidParameter("decision must be approve, reject or reopen")
    _reviews().change(job_id, index, current_user()["name"], status=status, original=result,
                      initial_status=docs.status_of(row, None))
    if status == "manual_review":
        return redirect(url_for("ui.document", job_id=job_id, index=index))
    return redirect(_next_in_queue(job_id, index) or url_for("ui.queue"))


# ---------------------------------------------------------------------------- queue
def _all_documents() -> list[dict]:
    """Every document of the newest :data:`QUEUE_SCAN` finished jobs, with its review status."""
    rows, cursor = [], None
    while len(rows) < QUEUE_SCAN:
        page, cursor = _jobs().list(limit=200, cursor=cursor)
        rows += [r for r in page if r.get("result")]
        if not cursor:
            break
    reviews = _reviews().all([r["id"] for r in rows]) if rows else {}
    out = []
    for row in rows:
        scores = ((row["result"].get("review") or {}).get("documents")) or []
        for i, result in enumerate(row["result"].get("results") or []):
            review = reviews.get((row["id"], i))
            out.append({"job_id": row["id"], "index": i, "filename": result.get("filename"),
                        "document_type": result.get("document_type") or row.get("document_type"),
                        "success": result.get("success", False), "status": docs.status_of(row, review),
                        "quality_score": scores[i].get("quality_score") if i < len(scores) else None,
                        "created_at": row["created_at"], "review": review, "result": result, "job": row})
    out.sort(key=lambda d: (_STATUS_ORDER.get(d["status"], 0), -d["created_at"].timestamp(), d["index"]))
    return out


def _date_arg(name: str) -> dt.date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidParameter(f"{name} must be a date YYYY-MM-DD") from None


def _filtered(status: str | None = None, documents: list[dict] | None = None) -> list[dict]:
    """The documents the request's filters (``status``, ``type``, ``q``, ``from``, ``to``) keep;
    ``documents``: the list to filter, when the caller has already read it (one scan a request)."""
    status = status if status is not None else (request.args.get("status") or "")
    doc_type = request.args.get("type") or ""
    query = (request.args.get("q") or "").strip().casefold()
    start, end = _date_arg("from"), _date_arg("to")
    out = []
    for d in documents if documents is not None else _all_documents():
        if status and d["status"] != status or doc_type and d["document_type"] != doc_type:
            continue
        day = d["created_at"].date()
        if start and day < start or end and day > end:
            continue
        if query:
            values = docs.effective(d["result"], d["review"])["fields"].values() if d["success"] else []
            if not any(query in str(v.get("value") or "").casefold() for v in values) \
                    and query not in (d["filename"] or "").casefold():
                continue
        out.append(d)
    return out


def _next_in_queue(job_id: str, index: int) -> str | None:
    if not has_role(current_user(), "reviewer"):
        return None
    for d in _all_documents():
        if d["status"] == "manual_review" and (d["job_id"], d["index"]) != (job_id, index):
            return url_for("ui.document", job_id=d["job_id"], index=d["index"])
    return None


@ui.get("/queue")
@require("reviewer")
def queue():
    everything = _all_documents()
    counts = {s: sum(1 for d in everything if d["status"] == s) for s in _STATUS_ORDER}
    return render_template("queue.html", documents=_filtered(documents=everything)[:500], counts=counts, total=len(everything),
                           types=list(DOCUMENT_TYPES), args=request.args, statuses=list(_STATUS_ORDER))


# ---------------------------------------------------------------------------- export
def _approved() -> list[dict]:
    out = []
    for d in _filtered(status="approved"):
        if not d["success"]:
            continue
        eff = docs.effective(d["result"], d["review"])
        review = d["review"] or {}
        out.append({"job_id": d["job_id"], "file_index": d["index"], "filename": d["filename"],
                    "document_type": d["document_type"], "approved_by": review.get("reviewed_by") or "auto",
                    "approved_at": review.get("reviewed_at") or iso(d["job"].get("finished_at")),
                    "fields": {k: {"value": v["value"], "normalized": v["normalized"], "corrected": v["corrected"]}
                               for k, v in eff["fields"].items()},
                    **({"line_items": eff["line_items"]} if "line_items" in eff else {})})
    return out


def _download(body: str, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@ui.get("/export.json")
@require("reviewer")
def export_json():
    """Approved documents (queue filters apply: ``type``, ``from``, ``to``, ``q``) as one JSON array."""
    return _download(json.dumps(_approved(), ensure_ascii=False, indent=2), "application/json", "approved.json")


@ui.get("/export.csv")
@require("reviewer")
def export_csv():
    """Approved documents as CSV: one row per document, one column per field key (its value)."""
    rows = _approved()
    keys = list(dict.fromkeys(k for r in rows for k in r["fields"]))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["job_id", "file_index", "filename", "document_type", "approved_by", "approved_at", *keys])
    for r in rows:
        writer.writerow([r["job_id"], r["file_index"], r["filename"], r["document_type"], r["approved_by"],
                         r["approved_at"], *[_csv_cell((r["fields"].get(k) or {}).get("value")) for k in keys]])
    return _download(buf.getvalue(), "text/csv", "approved.csv")


def _csv_cell(value) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@ui.get("/export/feedback.jsonl")
@require("reviewer")
def export_feedback():
    """The corrections as a feedback dataset: one JSON line per corrected document with its OCR lines,
    the model's output and the corrected output (reviewed documents with at least one change)."""
    lines = []
    for d in _filtered(status=""):
        review = d["review"]
        if not review or not d["success"] or not (review["corrected"].get("fields")
                                                 or review["corrected"].get("line_items") is not None):
            continue
        result = d["result"]
        ocr = [{"page": p["page"], "text": ln.get("text"), "confidence": ln.get("confidence"), "box": ln.get("box")}
               for p in result.get("pages") or [] for ln in p.get("ocr_data") or []]
        model = {"fields": {k: v.get("value") for k, v in (result.get("fields") or {}).items()},
                 "line_items": result.get("line_items")}
        eff = docs.effective(result, review)
        corrected = {"fields": {k: v["value"] for k, v in eff["fields"].items()}, "line_items": eff.get("line_items")}
        lines.append(json.dumps({"job_id": d["job_id"], "file_index": d["index"], "filename": d["filename"],
                                 "document_type": d["document_type"], "review_status": d["status"],
                                 "ocr_lines": ocr, "model_output": model, "corrected_output": corrected,
                                 "corrected_fields": sorted(review["corrected"].get("fields") or {})},
                                ensure_ascii=False))
    return _download("".join(line + "\n" for line in lines), "application/x-ndjson", "feedback.jsonl")


@ui.get("/users")
@require("admin")
def user_list():
    return render_template("users.html", users=current_app.extensions["docextract_ui"].users.list())
