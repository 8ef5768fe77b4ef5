"""The review UI in a real browser: Debian's headless Chromium driven by Playwright
(``executable_path=/usr/bin/chromium``; never ``playwright install``).

The app runs on a loopback port (werkzeug server in a thread) with the real
embedded jobs engine (SQLite in tmp_path) and the real OCR engine (RapidOCR) on a
real SROIE receipt, plus a text-layer PDF invoice made by tests/synthetic; the LLM
is a fake that answers nothing (the readers find the fields; the LLM is not what
is tested here). Screenshots of a failing test go to ``test-artifacts/`` (git-ignored);
``UI_SCREENSHOTS=docs/img`` also saves the README screenshots there.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import threading
from pathlib import Path

import pytest

from app import create_app
from app.config import Settings
from app.llm.client import LLMClient
from tests.conftest import ROOT, FakeOpenAI, answer_by_field, shared_path

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RECEIPT = ("sroie", "images", "X00016469612.jpg")

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def server(tmp_path_factory, rapid_engine):
    """The app on 127.0.0.1:<free port>; yields ``(base_url, app, reviewer key)``."""
    from werkzeug.serving import make_server

    tmp = tmp_path_factory.mktemp("ui")
    settings = Settings(hard_token="hard-token", llm_api_url="http://fake/v1", storage_dir=tmp / "storage",
                        job_workers=2, secret_key="browser-test-secret-0123456789abcdef")
    llm = LLMClient(base_url="http://fake/v1", model="m", client=FakeOpenAI(answer_by_field({})), max_retries=0)
    app = create_app(settings, ocr_engine=rapid_engine, llm_client=llm)
    app.extensions["docextract_jobs"].ensure_ready()
    key = app.extensions["docextract_ui"].users.create("rita", "reviewer")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", app, key
    httpd.shutdown()
    app.extensions["docextract_jobs"].stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (requirements-dev.txt)")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=FLAGS, viewport={"width": 1400, "height": 900}, accept_downloads=True)
        yield context
        context.close()


@contextlib.contextmanager
def artefacts(page, name: str):
    """Save a screenshot under test-artifacts/ when the block fails."""
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        raise


def docs_screenshot(page, name: str) -> None:
    """With ``UI_SCREENSHOTS=<folder>``: a viewport screenshot as a small palette PNG (README images)."""
    folder = os.environ.get("UI_SCREENSHOTS")
    if folder:
        from PIL import Image

        Path(folder).mkdir(parents=True, exist_ok=True)
        image = Image.open(io.BytesIO(page.screenshot(type="png"))).convert("RGB")
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.LANCZOS)
        image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(Path(folder) / name, optimize=True)


def unlabelled_inputs(page) -> list[str]:
    """Visible form controls without an accessible name (label[for], wrapping label or aria-label)."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('input, select, textarea'))
        .filter(el => el.type !== 'hidden')
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                      && !el.getAttribute('aria-labelledby'))
        .map(el => el.outerHTML.slice(0, 120))""")


def focus_order(page, start: str, presses: int) -> list[str]:
    """Ids (or classes) of the elements Tab reaches from ``start``, in order."""
    page.focus(start)
    order = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        order.append(page.evaluate("() => document.activeElement.id || document.activeElement.className"))
    return order


def upload_and_open(page, base: str, path: Path, document_type: str) -> str:
    """Upload one file through "Try it", wait for the job, open its document; returns the document URL."""
    page.goto(f"{base}/ui/try")
    assert unlabelled_inputs(page) == []
    page.set_input_files("#image_file", str(path))
    page.select_option("#document_type", document_type)
    page.click("#upload")
    page.wait_for_selector("a.doc-link", timeout=120_000)  # the job page reloads itself when the job ends
    page.click("a.doc-link")
    page.wait_for_selector("#fields")
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    return page.url


def test_review_flow_in_a_real_browser(server, browser, tmp_path):
    base, app, key = server
    page = browser.new_page()
    problems = []  # CSP violations and script errors: the page must work under its own policy
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status == 404 else None)
    with artefacts(page, "review_flow"):
        # sign-in page: labels, focus order, wrong key refused
        page.goto(f"{base}/ui/")
        assert page.locator("#login-form").is_visible()
        assert unlabelled_inputs(page) == []
        assert page.evaluate("() => document.activeElement.id") == "name"  # autofocus
        assert focus_order(page, "a.skip", 3) == ["name", "key", "sign-in"]
        page.fill("#name", "rita")
        page.fill("#key", "wrong")
        page.click("#sign-in")
        assert "Unknown name or key" in page.inner_text("main")
        page.fill("#name", "rita")
        page.fill("#key", key)
        page.click("#sign-in")
        page.wait_for_url(f"{base}/ui/queue")

        # a real receipt (real OCR): boxes drawn on the page preview
        receipt_url = upload_and_open(page, base, shared_path(*RECEIPT), "receipt")
        assert unlabelled_inputs(page) == []
        assert page.locator("polygon.ocr-line").count() > 10
        assert page.locator("polygon.field-box").count() >= 3

        # selecting a field lights its box; clicking a box selects its field
        page.focus("#f-total")
        assert "selected" in page.get_attribute('polygon.field-box[data-key="total"]', "class")
        assert "selected" not in page.get_attribute('polygon.field-box[data-key="date"]', "class")
        page.locator('polygon.field-box[data-key="date"]').dispatch_event("click")
        assert page.evaluate("() => document.activeElement.id") == "f-date"
        assert "selected" in page.get_attribute('polygon.field-box[data-key="date"]', "class")
        assert "selected" in page.get_attribute("#row-date", "class")
        docs_screenshot(page, "ui-review.png")

        # Tab goes from a field needing attention to the next one that does
        attention = page.eval_on_selector_all('.field-input[data-attention="true"]', "els => els.map(e => e.id)")
        assert len(attention) >= 2
        page.focus(f"#{attention[0]}")
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == attention[1]

        # an invalid date says so and is not saved; a valid one is normalised
        page.fill("#f-date", "31/02/2024")
        page.press("#f-date", "Enter")
        page.wait_for_function("() => document.getElementById('err-date').textContent.length > 0")
        assert "not a date" in page.inner_text("#err-date")
        assert page.get_attribute("#f-date", "aria-invalid") == "true"
        page.fill("#f-date", "26/12/2018")
        page.press("#f-date", "Enter")
        page.wait_for_function("() => document.getElementById('norm-date').textContent.includes('2018-12-26')")
        assert page.inner_text("#err-date") == ""

        # Enter (outside a field) approves and moves on
        page.evaluate("() => document.activeElement.blur()")
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: url != receipt_url)

        # a generated PDF invoice: its pages rendered, its text-layer boxes drawn
        from tests.synthetic.invoices import make_document, render_pdf

        pdf = tmp_path / "invoice.pdf"
        pdf.write_bytes(render_pdf(make_document(3, "vi")))
        upload_and_open(page, base, pdf, "invoice")
        assert page.locator("figure.page").count() == 2
        assert page.locator("polygon.ocr-line").count() > 50
        assert page.locator("#line-items tbody tr").count() > 5
        assert page.locator("polygon.item-box").count() > 5
        page.focus('.item-row[data-row="2"] input')
        assert "selected" in page.get_attribute('polygon.item-box[data-row="2"]', "class")
        docs_screenshot(page, "ui-invoice.png")
        assert unlabelled_inputs(page) == []
        page.click("#zoom-in")
        assert page.inner_text("#zoom-level") == "125%"

        # the queue, then the CSV export (as the signed-in reviewer)
        page.goto(f"{base}/ui/queue")
        # the receipt approved by the reviewer; the invoice, every field read with confidence and its
        # arithmetic checks passing, was routed to approved on its own
        assert "approved: 2" in page.inner_text(".counts")
        docs_screenshot(page, "ui-queue.png")
        response = page.request.get(f"{base}/ui/export.csv")
        assert response.ok
        rows = list(csv.DictReader(io.StringIO(response.text())))
        assert sorted(r["filename"] for r in rows) == sorted([RECEIPT[-1], "invoice.pdf"])
        receipt_row = next(r for r in rows if r["filename"] == RECEIPT[-1])
        assert receipt_row["date"] == "26/12/2018" and receipt_row["approved_by"] == "rita" and receipt_row["total"]

        # the audit trail on the document
        page.goto(receipt_url)
        audit = page.inner_text("#audit")
        assert "rita" in audit and "edit" in audit and "date" in audit and "26/12/2018" in audit
        assert "approve" in audit
        assert "31/02/2024" not in audit  # the refused value was never stored
        # the only console errors allowed are the failed responses the test provoked (401 sign-in, 400 date)
        unexpected = [p for p in problems if "status of 401" not in p and "status of 400" not in p]
        assert unexpected == [], unexpected
    page.close()
