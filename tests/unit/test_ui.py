"""Review UI (app/ui): accounts, roles, sessions, CSRF, corrections, audit trail, exports (Flask test client).

The browser test of the same flow is tests/e2e/test_ui_browser.py."""

from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest

from app import create_app
from app.cli import main as cli_main
from app.config import Settings
from app.jobs.review_store import UserStore
from app.llm.client import LLMClient
from app.ui.documents import validate_line_items, validate_value
from app.errors import InvalidParameter
from tests.conftest import FakeOcrEngine, FakeOpenAI, answer_by_field, png_bytes

SECRET = "test-secret-key-0123456789abcdef"
HARD = "hard-token-for-tests"


def make_app(tmp_path, **overrides):
    values = dict(hard_token=HARD, llm_api_url="http://fake/v1", storage_dir=tmp_path / "storage", job_workers=1,
                  secret_key=SECRET)
    values.update(overrides)
    fake = FakeOpenAI(answer_by_field({}))
    llm = LLMClient(base_url="http://fake/v1", model="m", client=fake, max_retries=0)
    app = create_app(Settings(**values), ocr_engine=FakeOcrEngine(), llm_client=llm)
    app.testing = True
    return app


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    app.extensions["docextract_jobs"].ensure_ready()
    yield app
    app.extensions["docextract_jobs"].stop()


def users(app) -> UserStore:
    return app.extensions["docextract_ui"].users


def csrf(client, path="/ui/") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def sign_in(client, name, key):
    token = csrf(client)
    return client.post("/ui/login", data={"name": name, "key": key, "csrf_token": token})


def reviewer(app, name="rita", role="reviewer"):
    key = users(app).create(name, role)
    client = app.test_client()
    assert sign_in(client, name, key).status_code == 302
    return client


def upload(client, document_type="receipt", files=1):
    token = csrf(client, "/ui/try")
    data = {"csrf_token": token, "document_type": document_type,
            "image_file": [(io.BytesIO(png_bytes(320, 160)), f"r{i}.png") for i in range(files)]}
    r = client.post("/ui/try", data=data, content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)
    job_id = r.headers["Location"].rsplit("/", 1)[1]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = client.get(f"/ui/api/jobs/{job_id}").get_json()["status"]
        if status not in ("queued", "running"):
            return job_id
        time.sleep(0.1)
    raise AssertionError("job did not finish")


def test_ui_refuses_to_start_without_secret_key(tmp_path):
    app = make_app(tmp_path, secret_key="")
    r = app.test_client().get("/ui/")
    assert r.status_code == 503 and r.get_json()["error_code"] == "NOT_READY"
    assert "SECRET_KEY" in r.get_json()["message"]
    dev = make_app(tmp_path, secret_key="", ui_insecure_dev=True)
    assert dev.test_client().get("/ui/").status_code == 200


def test_sign_in_page_headers_and_cookie_flags(tmp_path):
    app = make_app(tmp_path, session_cookie_secure=True)
    r = app.test_client().get("/ui/")
    assert r.status_code == 200 and b'id="login-form"' in r.data
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie and "Path=/ui" in cookie
    # the API keeps its own policy
    assert app.test_client().get("/livez").headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_no_inline_script_in_pages(app):
    client = reviewer(app)
    upload(client)
    for path in ("/ui/", "/ui/queue", "/ui/try"):
        html = client.get(path, follow_redirects=True).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " on" + "click=" not in html and "style=" not in html


def test_wrong_key_or_name_is_refused(app):
    key = users(app).create("rita", "reviewer")
    client = app.test_client()
    assert sign_in(client, "rita", key + "x").status_code == 401
    assert sign_in(client, "nobody", key).status_code == 401
    assert sign_in(client, "rita", "").status_code == 401
    assert client.get("/ui/queue").status_code == 302  # still signed out: to the sign-in page


def test_post_without_csrf_token_is_refused(app):
    key = users(app).create("rita", "reviewer")
    client = app.test_client()
    client.get("/ui/")
    r = client.post("/ui/login", data={"name": "rita", "key": key})
    assert r.status_code == 400 and b"The form expired" in r.data and b'id="login-form"' in r.data
    assert client.get("/ui/queue").status_code == 302  # not signed in
    signed = reviewer(app, "sam")
    r = signed.post("/ui/logout")
    assert r.status_code == 400 and r.get_json()["error_code"] == "BAD_REQUEST" and "CSRF" in r.get_json()["message"]
    assert signed.get("/ui/queue").status_code == 200  # still signed in


def test_hard_token_is_a_client_key_and_roles_are_enforced(app):
    client = app.test_client()
    assert sign_in(client, "client", HARD).status_code == 302
    assert client.get("/ui/try").status_code == 200
    assert client.get("/ui/queue").status_code == 403
    assert client.get("/ui/export.csv").status_code == 403
    job_id = upload(client)
    assert client.get(f"/ui/doc/{job_id}/0").status_code == 200  # its own upload
    assert b'id="approve"' not in client.get(f"/ui/doc/{job_id}/0").data
    token = csrf(client, "/ui/try")
    r = client.post(f"/ui/api/doc/{job_id}/0/field", json={"key": "total", "value": "1"},
                    headers={"X-CSRFToken": token})
    assert r.status_code == 403 and r.get_json()["error_code"] == "FORBIDDEN"
    other = reviewer(app)
    other_job = upload(other)
    assert client.get(f"/ui/doc/{other_job}/0").status_code == 404  # not its upload
    assert reviewer(app, "ada", "admin").get("/ui/users").status_code == 200
    assert other.get("/ui/users").status_code == 403


def test_disabled_user_session_ends(app):
    client = reviewer(app)
    assert client.get("/ui/queue").status_code == 200
    users(app).set_disabled("rita")
    assert client.get("/ui/queue").status_code == 302


def test_open_redirect_refused(app):
    key = users(app).create("rita", "reviewer")
    client = app.test_client()
    token = csrf(client)
    r = client.post("/ui/login", data={"name": "rita", "key": key, "csrf_token": token,
                                       "next": "//evil.example.com/"})
    assert r.headers["Location"] == "/ui/"


def test_edit_approve_audit_and_exports(app):
    client = reviewer(app)
    job_id = upload(client)
    page = client.get(f"/ui/doc/{job_id}/0")
    assert page.status_code == 200 and b'class="field-box' in page.data
    png = client.get(f"/ui/doc/{job_id}/0/page/1.png")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    token = csrf(client, f"/ui/doc/{job_id}/0")
    url = f"/ui/api/doc/{job_id}/0/field"
    bad = client.post(url, json={"key": "date", "value": "31/02/2024"}, headers={"X-CSRFToken": token})
    assert bad.status_code == 400 and bad.get_json()["error_code"] == "INVALID_PARAMETER"
    assert "not a date" in bad.get_json()["message"]
    assert client.post(url, json={"key": "date", "value": "1/3/2024"}).status_code == 400  # no CSRF header
    good = client.post(url, json={"key": "date", "value": "04/02/2020"}, headers={"X-CSRFToken": token})
    assert good.get_json()["normalized"] == "2020-02-04"
    good = client.post(url, json={"key": "seller", "value": "=1+2 Mart"}, headers={"X-CSRFToken": token})
    assert good.status_code == 200
    items = client.post(f"/ui/api/doc/{job_id}/0/line_items", headers={"X-CSRFToken": token},
                        json={"items": [{"description": "Tea", "quantity": "2", "amount": "1.50"}]})
    assert items.get_json()["items"][0]["amount"] == "1.50"
    r = client.post(f"/ui/doc/{job_id}/0/decision", data={"decision": "approve", "csrf_token": token})
    assert r.status_code == 302

    job = app.extensions["docextract_jobs"].store.get(job_id)
    assert job["result"]["results"][0]["fields"]["date"]["value"] != "04/02/2020"  # model output untouched
    audit = app.extensions["docextract_ui"].reviews.audit(job_id, 0)
    assert [(a["action"], a["field"]) for a in audit] == [("edit", "date"), ("edit", "seller"),
                                                          ("line_items", "line_items"), ("approve", None)]
    assert audit[0]["user"] == "rita" and audit[0]["after"] == "04/02/2020"
    assert audit[-1]["before"] == "manual_review" and audit[-1]["after"] == "approved"
    html = client.get(f"/ui/doc/{job_id}/0").get_data(as_text=True)
    assert html.count('class="audit-row"') == 4 and "approved" in html

    rows = list(csv.DictReader(io.StringIO(client.get("/ui/export.csv").get_data(as_text=True))))
    assert len(rows) == 1 and rows[0]["job_id"] == job_id and rows[0]["date"] == "04/02/2020"
    assert rows[0]["seller"] == "'=1+2 Mart" and rows[0]["approved_by"] == "rita"  # no spreadsheet formula
    data = client.get("/ui/export.json?type=receipt").get_json()
    assert data[0]["fields"]["date"] == {"value": "04/02/2020", "normalized": "2020-02-04", "corrected": True}
    assert client.get("/ui/export.json?type=invoice").get_json() == []
    feedback = [json.loads(x) for x in client.get("/ui/export/feedback.jsonl").get_data(as_text=True).splitlines()]
    assert len(feedback) == 1 and feedback[0]["corrected_output"]["fields"]["date"] == "04/02/2020"
    assert feedback[0]["model_output"]["fields"]["date"] != "04/02/2020"
    assert feedback[0]["ocr_lines"][0]["text"] == "MINI MART ABC" and feedback[0]["ocr_lines"][0]["box"]
    assert feedback[0]["corrected_output"]["line_items"][0]["description"] == "Tea"


def test_queue_orders_filters_and_searches(app):
    client = reviewer(app)
    first, second = upload(client), upload(client)
    token = csrf(client, "/ui/queue")
    client.post(f"/ui/doc/{first}/0/decision", data={"decision": "approve", "csrf_token": token})
    html = client.get("/ui/queue").get_data(as_text=True)
    assert html.index(f"/ui/doc/{second}/0") < html.index(f"/ui/doc/{first}/0")  # manual_review first
    assert 'id="count-approved">1<' in html
    assert f"/ui/doc/{first}/0" not in client.get("/ui/queue?status=manual_review").get_data(as_text=True)
    assert client.get("/ui/queue?q=zzzz-nothing").get_data(as_text=True).count("/ui/doc/") == 0
    assert client.get("/ui/queue?from=not-a-date").status_code == 400
    r = client.post(f"/ui/doc/{first}/0/decision", data={"decision": "reject", "csrf_token": token})
    assert r.headers["Location"].endswith(f"/ui/doc/{second}/0")  # next in queue


def test_validation_uses_the_api_normaliser():
    assert validate_value("receipt", "date", " 03/02/2020 ") == {"value": "03/02/2020", "normalized": "2020-02-03"}
    assert validate_value("receipt", "date", "") == {"value": None, "normalized": None}
    with pytest.raises(InvalidParameter, match="not a date"):
        validate_value("receipt", "date", "yesterday")
    with pytest.raises(InvalidParameter, match="not an amount"):
        validate_value("receipt", "total", "abc")
    with pytest.raises(InvalidParameter):
        validate_value("receipt", "date", 5)
    with pytest.raises(InvalidParameter, match="line 1 quantity"):
        validate_line_items([{"quantity": "two"}])
    assert validate_line_items([{"description": " "}, {"unit_price": "1.250.000"}]) == [
        {"description": None, "quantity": None, "unit": None, "unit_price": "1250000", "amount": None}]


def test_cli_users(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STORAGE_DIR", str(tmp_path / "st"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert cli_main(["users", "create", "rita", "--role", "reviewer"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("dxk_")
    assert cli_main(["users", "create", "rita"]) == 2
    assert cli_main(["users", "list"]) == 0
    assert "rita\treviewer\tactive" in capsys.readouterr().out
    assert cli_main(["users", "disable", "rita"]) == 0
    assert cli_main(["users", "disable", "nobody"]) == 2


def test_named_keys_work_as_api_tokens(app):
    key = users(app).create("erp", "client")
    client = app.test_client()
    assert client.get("/jobs", headers={"X-API-Token": HARD}).status_code == 200
    assert client.get("/jobs", headers={"X-API-Token": key}).status_code == 200
    wrong = key[:-1] + ("y" if key.endswith("x") else "x")  # never the key itself
    assert client.get("/jobs", headers={"X-API-Token": wrong}).status_code == 401
    assert client.get("/jobs", headers={"X-API-Token": "dxk_nothing"}).status_code == 401
    users(app).set_disabled("erp")
    users(app)._cache.clear()  # the check is remembered for CACHE_SECONDS
    assert client.get("/jobs", headers={"X-API-Token": key}).status_code == 401


def test_saving_unchanged_line_items_logs_nothing(app):
    client = reviewer(app)
    job_id = upload(client)
    token = csrf(client, f"/ui/doc/{job_id}/0")
    url = f"/ui/api/doc/{job_id}/0/line_items"
    shown = app.extensions["docextract_jobs"].store.get(job_id)["result"]["results"][0].get("line_items") or []
    rows = [{c: r.get(c) for c in ("description", "quantity", "unit", "unit_price", "amount")} for r in shown]
    assert client.post(url, json={"items": rows}, headers={"X-CSRFToken": token}).get_json()["changed"] is False
    assert app.extensions["docextract_ui"].reviews.audit(job_id, 0) == []
    bad = client.post(url, json={"items": "nope"}, headers={"X-CSRFToken": token})
    assert bad.status_code == 400


def test_json_bodies_that_are_not_objects_are_400_not_500(app):
    client = reviewer(app)
    job_id = upload(client)
    headers = {"X-CSRFToken": csrf(client, f"/ui/doc/{job_id}/0")}
    for path in (f"/ui/api/doc/{job_id}/0/field", f"/ui/api/doc/{job_id}/0/line_items"):
        for body in ('"x"', "[]", "3"):
            r = client.post(path, data=body, content_type="application/json", headers=headers)
            assert r.status_code == 400 and r.get_json()["error_code"] == "INVALID_PARAMETER", (path, body)
