"""Documents as pages: PDF (text layer / raster), multi-frame TIFF, HEIC, limits and errors."""

import io
import time

import numpy as np
import pytest
from PIL import Image

from app.documents import DocumentLimits, open_document, sniff
from app.errors import InvalidDocument, InvalidImage, PayloadTooLarge, PdfEncrypted, TooManyPages
from tests.conftest import png_bytes

pdfium = pytest.importorskip("pypdfium2")
reportlab = pytest.importorskip("reportlab")


def text_pdf(pages=("Hello invoice 12345 page one",), size=(595, 842)) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=size)
    for text in pages:
        if text:
            c.setFont("Helvetica", 12)
            c.drawString(72, size[1] - 72, text)
            c.drawString(300, size[1] - 72, "Amount 99.00")
        c.showPage()
    c.save()
    return buf.getvalue()


def blank_pdf(count: int) -> bytes:
    pdf = pdfium.PdfDocument.new()
    for _ in range(count):
        pdf.new_page(595, 842)
    buf = io.BytesIO()
    pdf.save(buf)
    pdf.close()
    return buf.getvalue()


def tiff(frames: int) -> bytes:
    images = [Image.new("RGB", (40 + i, 30), (i * 40, 0, 0)) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, format="TIFF", save_all=True, append_images=images[1:])
    return buf.getvalue()


def test_sniffing_reads_bytes_not_names():
    assert sniff(text_pdf()) == "pdf"
    assert sniff(png_bytes()) == "image"
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") == "heif"


def test_born_digital_page_is_read_from_its_text_layer():
    with open_document(text_pdf(), DocumentLimits(pdf_dpi=144)) as doc:
        (page,) = list(doc.pages())
    assert doc.kind == "pdf" and page.source == "pdf_text"
    assert (page.width, page.height) == (1190, 1684)  # A4 at 144 dpi
    texts = [ln.text for ln in page.text_lines]
    assert "Hello invoice 12345 page one" in texts and "Amount 99.00" in texts  # a column gap splits lines
    (x0, y0), _, (x1, y1), _ = next(ln for ln in page.text_lines if ln.text.startswith("Hello")).box
    assert 140 <= x0 <= 148 and 120 <= y0 < y1 <= 150 and x1 > x0  # 72 pt from the top-left, in pixels
    assert all(ln.page == 1 for ln in page.text_lines)


def test_page_without_text_falls_back_to_ocr_per_page():
    data = text_pdf(("First page has text 123", "", "Third page text 456"))
    sources, images = [], []
    with open_document(data, DocumentLimits(pdf_dpi=72)) as doc:
        for page in doc.pages():  # a page is rendered while it is the current one
            sources.append(page.source)
            images.append(page.image())
    assert sources == ["pdf_text", "ocr", "pdf_text"]
    image = images[1]
    assert image.shape == (842, 595, 3) and image.dtype == np.uint8 and image.min() == 255  # white page


def test_too_many_pages_is_refused_before_rendering():
    data = blank_pdf(2000)
    start = time.perf_counter()
    with pytest.raises(TooManyPages) as err:
        open_document(data, DocumentLimits(max_pages=50))
    assert err.value.http_status == 413 and err.value.code == "TOO_MANY_PAGES"
    assert err.value.details == {"pages": 2000, "max_pages": 50}
    assert time.perf_counter() - start < 30  # generous: only the page tree is read


def test_page_pixels_over_limit():
    limits = DocumentLimits(max_pixels=1_000_000, pdf_dpi=200)
    with open_document(text_pdf(), limits) as doc:
        page = next(doc.pages())
        assert page.source == "pdf_text"  # read from its text layer: never rendered, no pixel limit
        with pytest.raises(PayloadTooLarge, match="Page 1 .*PDF_DPI"):
            page.image()
    with open_document(blank_pdf(1), limits) as doc:  # a page to OCR is refused before rendering
        with pytest.raises(PayloadTooLarge, match="Page 1 is 1653x2339 pixels at 200 dpi"):
            next(doc.pages()).image()


def test_encrypted_pdf():
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=pdfencrypt.StandardEncryption("secret", canPrint=1))
    c.drawString(72, 72, "secret")
    c.save()
    with pytest.raises(PdfEncrypted) as err:
        open_document(buf.getvalue(), DocumentLimits())
    assert err.value.http_status == 400 and err.value.code == "PDF_ENCRYPTED"


@pytest.mark.parametrize("data", [b"%PDF-1.7\n garbage", text_pdf()[:200]])
def test_broken_pdf_is_invalid_document(data):
    with pytest.raises(InvalidDocument) as err:
        open_document(data, DocumentLimits())
    assert err.value.http_status == 400 and err.value.code == "INVALID_DOCUMENT"


def test_multi_frame_tiff_gives_one_page_per_frame():
    with open_document(tiff(3), DocumentLimits()) as doc:
        pages = list(doc.pages())
    assert doc.page_count == 3 and [p.number for p in pages] == [1, 2, 3]
    assert [p.width for p in pages] == [40, 41, 42] and all(p.source == "ocr" for p in pages)
    assert tuple(pages[2].image()[0, 0]) == (0, 0, 80)  # BGR of frame 3
    with pytest.raises(TooManyPages):
        open_document(tiff(3), DocumentLimits(max_pages=2))


def heic_bytes(width=64, height=48, color=(200, 10, 10)) -> bytes:
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif (test-only HEIC encoder) not installed")
    buf = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (width, height), color)).save(buf, quality=95)
    return buf.getvalue()


def test_heic_photo_decodes():
    pytest.importorskip("pi_heif")
    data = heic_bytes()
    with open_document(data, DocumentLimits()) as doc:
        (page,) = list(doc.pages())
        image = page.image()
    assert doc.kind == "heif" and image.shape == (48, 64, 3)
    b, g, r = (int(v) for v in image[24, 32])
    assert r > 150 and g < 60 and b < 60


def test_heic_can_be_disabled():
    with pytest.raises(InvalidImage, match="HEIC_ENABLED"):
        open_document(heic_bytes(), DocumentLimits(heic_enabled=False))


def test_unknown_bytes_are_invalid_image():
    with pytest.raises(InvalidImage):
        open_document(b"plain text, not an image", DocumentLimits())


# ------------------------------------------------------------------ HTTP doors
def _client(**settings):
    from tests.unit.test_api import make_app

    return make_app(**settings).test_client()


def _post(client, path, data, name="doc.pdf", **form):
    return client.post(path, data={"image_file": (io.BytesIO(data), name), **form})


def test_ocr_door_gives_pages_and_lines_with_page_numbers():
    from tests.conftest import FakeOcrEngine
    from tests.unit.test_api import make_app

    engine = FakeOcrEngine()
    client = make_app(engine=engine, pdf_dpi=72).test_client()
    r = _post(client, "/ocr", text_pdf(("Page one text 111", "", "Page three text 333")), name="scan.bin")
    assert r.status_code == 200, r.get_json()
    result = r.get_json()["data"]["results"][0]
    assert result["page_count"] == 3 and engine.calls == 1  # only the page without text was OCR'd
    assert [(p["page"], p["source"], p["width"], p["height"]) for p in result["pages"]] == [
        (1, "pdf_text", 595, 842), (2, "ocr", 595, 842), (3, "pdf_text", 595, 842)]
    assert {ln["page"] for ln in result["ocr_data"]} == {1, 2, 3}
    assert result["pages"][1]["ocr_data"][0]["text"] == "MINI MART ABC"
    assert result["pages"][0]["processing_time"]["text_layer_ms"] >= 0


@pytest.mark.parametrize("data,status,code", [
    (blank_pdf(60), 413, "TOO_MANY_PAGES"),
    (b"%PDF-1.4\nbroken", 400, "INVALID_DOCUMENT"),
])
def test_document_errors_over_http(data, status, code):
    r = _post(_client(max_pages=50), "/extract", data, config='{"document_type": "invoice"}')
    body = r.get_json()
    assert r.status_code == status and body["error_code"] == code and body["success"] is False
    assert body["data"]["results"][0]["error_code"] == code


def test_encrypted_pdf_over_http():
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, encrypt=pdfencrypt.StandardEncryption("pw"))
    c.drawString(72, 72, "x")
    c.save()
    r = _post(_client(), "/ocr", buf.getvalue())
    assert r.status_code == 400 and r.get_json()["error_code"] == "PDF_ENCRYPTED"


def test_heic_photo_over_http():
    pytest.importorskip("pi_heif")
    r = _post(_client(), "/extract", heic_bytes(), name="IMG_0001.HEIC", config='{"document_type": "receipt"}')
    assert r.status_code == 200, r.get_json()
    result = r.get_json()["data"]["results"][0]
    assert result["pages"][0]["source"] == "ocr" and result["fields"]["total"]["page"] == 1
    assert result["line_items"] == [] and result["checks"]["ok"] is None


def test_pdfs_read_from_several_threads():
    from concurrent.futures import ThreadPoolExecutor

    data = text_pdf(tuple(f"Page {i} text line 12345" for i in range(8)))

    def read(_):
        with open_document(data, DocumentLimits(pdf_dpi=72)) as doc:
            return [(p.source, p.image().shape) if p.number % 3 == 0 else p.source for p in doc.pages()]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(read, range(8)))
    assert all(r == results[0] for r in results) and len(results[0]) == 8


def test_born_digital_id_card_page_is_still_rendered_for_the_qr_reader():
    from app.config import Settings
    from app.pipeline import DocumentPipeline, Upload
    from tests.conftest import FakeOcrEngine

    pipeline = DocumentPipeline(Settings(pdf_dpi=72), FakeOcrEngine(), extractor=None)
    data = text_pdf()
    assert pipeline.read_document(Upload("a.pdf", data)).first_image is None
    image = pipeline.read_document(Upload("a.pdf", data), render_first=True).first_image
    assert image.shape == (842, 595, 3)


def test_a_passed_deadline_stops_before_the_next_page_is_ocrd():
    import time as _time

    from app.config import Settings
    from app.errors import DeadlineExceeded
    from app.pipeline import DocumentPipeline, Upload
    from tests.conftest import FakeOcrEngine

    engine = FakeOcrEngine()
    pipeline = DocumentPipeline(Settings(pdf_dpi=72), engine, extractor=None)
    data = text_pdf(("Page one text 111", ""))
    with pytest.raises(DeadlineExceeded, match="page 2 of 2"):
        pipeline.read_document(Upload("a.pdf", data), deadline=_time.monotonic() - 1)
    assert engine.calls == 0
    assert len(pipeline.read_document(Upload("a.pdf", data), deadline=_time.monotonic() + 60).pages) == 2


def test_page_over_the_pixel_limit_over_http():
    r = _post(_client(max_image_pixels=1_000_000), "/ocr", blank_pdf(1))
    body = r.get_json()
    assert r.status_code == 413 and body["error_code"] == "PAYLOAD_TOO_LARGE" and "PDF_DPI" in body["message"]


def test_astral_characters_of_a_text_layer_are_valid_unicode():
    # PDFium hands emoji out as UTF-16 surrogate halves; pages carry valid text.
    from tests.synthetic.astral_pdf import EXPECTED, astral_text_pdf

    with open_document(astral_text_pdf(), DocumentLimits()) as doc:
        (page,) = list(doc.pages())
    assert tuple(ln.text for ln in page.text_lines) == EXPECTED
    for ln in page.text_lines:
        ln.text.encode("utf-8")


def test_extract_of_a_pdf_with_emoji_reaches_the_llm_as_encodable_text():
    # Regression: 4 Factur-X invoices gave 500 (UnicodeEncodeError: surrogates not
    # allowed) when their text reached the LLM client's JSON encoder.
    import json

    from tests.synthetic.astral_pdf import astral_text_pdf
    from tests.unit.test_api import make_app

    sent = []

    def responder(kind, kw):
        sent.append(json.dumps(kw, ensure_ascii=False).encode("utf-8"))  # raises on a surrogate
        return "NONE"

    client = make_app(responder=responder).test_client()
    r = client.post("/extract", data={"image_file": (io.BytesIO(astral_text_pdf()), "emoji.pdf"),
                                      "config": json.dumps({"info": {"note": "the thank-you note"}})})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert sent, "the LLM was asked"
    body = r.get_data().decode("utf-8")  # strict
    assert "\\ud8" not in body.lower()
    (result,) = r.get_json()["data"]["results"]
    assert result["pages"][0]["source"] == "pdf_text"


def test_a_tiff_whose_frame_directory_is_corrupt_is_invalid_image():
    # Found by the fuzz corpus: counting frames walks the IFD chain and Pillow raised
    # TypeError ("Missing dimensions"), a 500.
    from tests.fuzz.corpus import generate

    (case,) = [c for c in generate(20261201, 2000) if c.name == "bomb-1252-tiff-mutated-ifd"]
    with pytest.raises(InvalidImage, match="cannot be counted"):
        with open_document(case.files[0][2], DocumentLimits()) as doc:
            list(doc.pages())
