"""Line items of scanned synthetic invoices read by the real OCR engine (the
default hybrid engine: PP-OCRv6 + AsterNet), through the pipeline's OCR fallback
for PDF pages without a text layer and for multi-page TIFFs.

Needs rapidocr, asterocr, reportlab, pypdfium2 and the DejaVu fonts; skipped otherwise.
One page per layout, to keep the test short (about a minute on 2 CPU cores).
"""

from __future__ import annotations

import pytest

from app.config import Settings
from app.errors import EngineUnavailable

for _module in ("rapidocr", "asterocr", "reportlab", "pypdfium2"):
    pytest.importorskip(_module, reason=f"{_module} is not installed (pip install -r requirements-dev.txt)")

from tests.synthetic.invoices import SANS, make_document, render_scanned  # noqa: E402

if not SANS.exists():
    pytest.skip(f"{SANS} missing (apt-get install fonts-dejavu-core)", allow_module_level=True)


@pytest.fixture(scope="module")
def pipeline():
    from app.ocr.base import create_engine
    from app.pipeline import DocumentPipeline

    settings = Settings(ocr_engine="hybrid")
    try:
        engine = create_engine(settings)
    except EngineUnavailable as e:
        pytest.skip(str(e))
    return DocumentPipeline(settings, engine, extractor=None)


@pytest.mark.parametrize("layout,fmt", [("vi", "PDF"), ("en", "TIFF")])
def test_scanned_single_page_invoice_line_items(pipeline, layout, fmt):
    import importlib.util

    from app.extraction.line_items import read_line_items
    from app.pipeline import Upload
    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("bench_evaluate", ROOT / "bench" / "evaluate.py")
    ev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ev)

    doc = make_document(11, layout, n_items=12)  # fits one page
    read = pipeline.read_document(Upload(f"scan.{fmt.lower()}", render_scanned(doc, fmt=fmt, seed=11)))
    assert [p.source for p in read.pages] == ["ocr"]
    items = [i.to_dict() for i in read_line_items(read.stacked)]
    gold = [{"description": i.description, "amount": str(i.amount)} for i in doc.items]
    figures = ev.line_item_figures([ev.score_line_items(gold, items)])
    assert figures["f1"] >= 0.9, (figures, items)
