"""Documents benchmark: PDF pages through the real pipeline (no LLM: the ``/ocr`` path).

Prints:

1. every invoice2data PDF: status, pages, and each page's source;
2. a 20-page PDF (ten synthetic two-page invoices joined): wall time per page and
   the process's peak resident memory growth, text-layer path and, with
   ``--scanned``, the OCR path (the same pages as an image-only PDF);
3. milliseconds per page, text layer (``pdf_text``) vs rasterise + OCR of the
   same pages (the configured ``OCR_ENGINE``), and the ratio.

Usage::

    nice -n 10 .venv/bin/python bench/documents.py [--ocr-pages 6] [--scanned]

Run with ``nice``; one process, single requests, no timing assertions anywhere.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "invoice2data" / "documents"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def twenty_pages(scanned: bool = False) -> bytes:
    """Ten synthetic two-page invoices joined into one 20-page PDF."""
    import pypdfium2 as pdfium

    from tests.synthetic.invoices import make_document, render_pdf, render_scanned

    out = pdfium.PdfDocument.new()
    for seed in range(10):
        doc = make_document(seed, "vi" if seed % 2 else "en")
        part = pdfium.PdfDocument(render_scanned(doc, seed=seed) if scanned else render_pdf(doc))
        out.import_pages(part)
        part.close()
    buf = io.BytesIO()
    out.save(buf)
    out.close()
    return buf.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ocr-pages", type=int, default=6, help="invoice2data pages to OCR for the comparison")
    parser.add_argument("--scanned", action="store_true", help="also run the 20-page PDF as a scan (OCR path)")
    args = parser.parse_args(argv)

    from app.config import Settings
    from app.documents import DocumentLimits, open_document
    from app.ocr.base import create_engine
    from app.pipeline import DocumentPipeline, Upload

    settings = Settings.from_env()
    engine = create_engine(settings)
    pipeline = DocumentPipeline(settings, engine, extractor=None)  # the /ocr path needs no extractor
    limits = DocumentLimits.from_settings(settings)

    print(f"OCR_ENGINE={settings.ocr_engine}, PDF_DPI={settings.pdf_dpi}\n\n1. invoice2data PDFs (/ocr path)")
    pdfs = sorted(DATA.glob("*.pdf"))
    text_ms, ocr_ms = [], []
    for path in pdfs:
        try:
            result = pipeline.process(Upload(path.name, path.read_bytes()), ocr_only=True).to_dict()
            sources = [p["source"] for p in result["pages"]]
            print(f"  {path.name:32s} ok  pages={result['page_count']} sources={','.join(sources)}")
            text_ms += [p["processing_time"]["text_layer_ms"] for p in result["pages"] if p["source"] == "pdf_text"]
        except Exception as e:  # report, keep going
            print(f"  {path.name:32s} FAILED {getattr(e, 'code', type(e).__name__)}: {e}")

    print("\n2. a 20-page PDF (/ocr path; measured before any page is OCR'd, so the peak is the text path's)")
    for scanned in ([False, True] if args.scanned else [False]):
        data = twenty_pages(scanned)
        before = _peak_rss_mb()
        t = time.perf_counter()
        result = pipeline.process(Upload("twenty.pdf", data), ocr_only=True).to_dict()
        seconds = time.perf_counter() - t
        grown = _peak_rss_mb() - before
        kind = "scanned (OCR)" if scanned else "born-digital (text layer)"
        print(f"  {kind:26s} {len(data) / 1e6:5.1f} MB, {result['page_count']} pages: "
              f"{seconds / result['page_count'] * 1000:8.1f} ms/page, peak RSS {_peak_rss_mb():.0f} MB "
              f"(+{grown:.0f} MB during the document)")
    print(f"\n3. ms per page: text layer vs rasterise + OCR ({args.ocr_pages} pages)")
    done = 0
    for path in pdfs:
        with open_document(path.read_bytes(), limits) as doc:
            for page in doc.pages():
                if done >= args.ocr_pages:
                    break
                t = time.perf_counter()
                engine.recognize(page.image())
                ocr_ms.append((time.perf_counter() - t) * 1000.0)
                done += 1
    if not ocr_ms:
        return 0
    t_mean = sum(text_ms) / len(text_ms)
    o_mean = sum(ocr_ms) / len(ocr_ms)
    print(f"  text layer: {t_mean:8.1f} ms/page over {len(text_ms)} pages")
    print(f"  OCR:        {o_mean:8.1f} ms/page over {len(ocr_ms)} pages (render at {settings.pdf_dpi} dpi + OCR)")
    print(f"  ratio:      {o_mean / t_mean:8.0f}x")

    return 0


if __name__ == "__main__":
    sys.exit(main())
