"""Document classification: which of our document types a page is.

Used when a request names no ``document_type`` (or ``"auto"``). The evidence
is what the readers already see, in this order of strength:

1. **MRZ** (ICAO 9303 TD1, three lines of 30 characters starting ``ID`` +
   issuing state ``VNM``): the back of a CCCD (source ``mrz``).
2. **QR payload** (only when an image is given and the printed cues are
   weak, e.g. a blurred card photo): a CCCD QR code is on the front (source ``qr``).
3. **Printed captions and titles** in Vietnamese and English (and the
   European invoice words that :mod:`app.extraction.doctypes` reads), matched
   on folded text (lower case, diacritics removed): each type has weighted
   cue phrases; a title ("HÓA ĐƠN GIÁ TRỊ GIA TĂNG", "PURCHASE ORDER") weighs
   more than a caption shared with other types ("Total").
4. **Layout**: a receipt is a long narrow slip (height / width of the text
   area >= 1.6) with many short priced rows; a page whose text area is 40 or
   more line heights wide is a sheet (A4, Letter), not a till roll, and unless
   it calls itself a receipt, three quarters of its receipt cues' weight counts
   for the invoice.

Scores per type are summed; the confidence is the top score's share of the
top two plus a margin (``top / (top + second + 1)``) so one weak cue gives a
low confidence. No cue at all gives ``other``.

The cue tables are written from the documents' standard wording (Vietnamese
Circular 78/2021 e-invoice titles, ICAO 9303 for the MRZ, the CCCD's printed
captions, common English/French/Dutch/German/Polish invoice and order
captions), not from any one document's text.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from app.domain import OcrResult

#: The document types a page is classified into (``other``: none of ours).
TYPES = ("cccd_front", "cccd_back", "invoice", "receipt", "purchase_order", "sales_order", "other")


@dataclass(frozen=True)
class Classification:
    """The detected type of one document.

    Attributes:
        type: one of :data:`TYPES`.
        confidence: 0..1.
        source: the strongest evidence: ``mrz``, ``qr``, ``text`` (captions and
            titles), ``layout``, ``given`` (the caller named the type) or
            ``none`` (no evidence: ``other``).
        scores: type -> summed cue weight (for logs and the confusion bench).
        language: ``vi`` or ``other`` (:func:`app.classify.language.page_language`).
        qr_payload: the CCCD QR code's text when the classifier decoded one (source
            ``qr``), passed on so the QR reader does not decode the image again.
    """

    type: str
    confidence: float
    source: str
    scores: dict = field(default_factory=dict)
    language: str = "other"
    qr_payload: str | None = None

    def to_dict(self) -> dict:
        """Response form: ``{type, confidence, source}``."""
        return {"type": self.type, "confidence": round(self.confidence, 3), "source": self.source}


def given(document_type: str) -> Classification:
    """The classification of a document whose type the caller named."""
    return Classification(document_type, 1.0, "given")


# (pattern over the folded page text, weight). Patterns use \b boundaries.
_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "cccd_front": (
        (r"can cuoc cong dan|citizen identity card|can cuoc\b|identity card", 6.0),
        (r"ho va ten|full name|ho, chu dem va ten", 1.5),
        (r"que quan|place of origin", 3.0),
        (r"noi thuong tru|place of residence|noi cu tru", 3.0),
        (r"co gia tri den|date of expiry", 2.0),
        (r"gioi tinh|\bsex\b", 1.5),
        (r"quoc tich|nationality", 1.5),
        (r"ngay sinh|date of birth", 1.5),
        (r"cong hoa xa hoi chu nghia viet nam|socialist republic of viet ?nam", 1.0),
    ),
    "cccd_back": (
        (r"dac diem nhan dang|personal identification", 6.0),
        (r"ngon tro (trai|phai)|(left|right) index finger", 4.0),
        (r"cuc truong cuc canh sat|director general of the police|quan ly hanh chinh ve trat tu xa hoi", 4.0),
        (r"ngay, thang, nam|date, month, year", 2.0),
    ),
    "invoice": (
        # A title: the line starts with it ("Có giá trị xuất hóa đơn GTGT trong ngày" on a receipt is no title).
        (r"^[^a-z0-9\n]*(?:hoa don gia tri gia tang|hoa don gtgt|vat invoice|hoa don dien tu|commercial invoice)", 6.0),
        (r"invoice (no|number|#|date|nr)|invoice:", 2.5),
        # A page titled "INVOICE" (not "TAX INVOICE", which Malaysian receipts print).
        (r"^[^a-z0-9\n]*(?:retail|commercial|sales) invoices?\b", 3.0),
        (r"\b(facture|factuur|rechnung|faktura)\b", 5.0),
        (r"^[^a-z0-9\n]*(?:fattura|factura)\b", 5.0),  # a title ("Dirección de factura" names an address)
        (r"bill to|billed to|invoice to", 2.0),
        (r"payment terms|due date|date due|iban|swift|bank account", 2.0),
        (r"ky hieu|mau so|ma so thue nguoi mua|don vi mua hang|nguoi mua hang|don vi ban hang", 3.0),
        (r"subtotal|sub total|amount due|balance due|total due|\bvat\b|tax amount|net amount", 1.0),
    ),
    "receipt": (
        (r"\breceipt\b|cash bill|cash sales?|official receipt|hoa don ban le|phieu thanh toan|"
         r"phieu tinh tien|hoa don thanh toan|bien lai|hoa don ban hang|phieu xuat kho ban hang|phieu mua hang", 3.0),
        (r"cashier|thu ngan|nhan vien|\bnvbh\b|ten nv|\bpos\b|counter|quay|\btable\b|ban so|\bserved by", 2.0),
        # Retail chains (their receipts carry the chain's name as a logo word).
        (r"v[a-z1|]?n ?commerce|v[a-z1|]?nmart|co\.?op ?(mart|food|xtra)|bach hoa xanh|circle k|familymart|"
         r"ministop|gs25|highlands coffee|lotte mart|big c|aeon|7-eleven|99 speed mart|mr\.? ?d\.?i\.?y", 2.0),
        (r"thoi gian|\btime\b|gio vao|gio ra", 1.0),
        (r"\bchange\b|tien thua|tien thoi|tra lai|khach dua|tien khach|tien mat|\bcash\b|tendered", 2.5),
        (r"thank you|thanks|cam on|hen gap lai|terima kasih|please come again|goods sold are not|merci|"
         r"danke|bedankt", 2.0),
        (r"caissier|kassierer|kassa|ticket|especes|rendu|bar ?geld|wisselgeld", 2.0),  # French, German, Dutch
        (r"rounding|round adj|\bgst\b|\brm\s?\d|\bqty\b|\bsl\b|so luong|don gia|thanh tien|tong tien|tong cong|"
         r"total", 1.0),
        (r"tax invoice|simplified tax invoice", 1.0),
    ),
    "purchase_order": (
        (r"^[^a-z0-9\n]*(?:purchase order|don dat hang|don mua hang|phieu dat hang|bestelling|bestellung|"
         r"bon de commande|zamowienie|orden de compra|pedido de compra|ordine di acquisto|ordine d'acquisto|"
         r"inkooporder|bestelbon)", 8.0),
        # The one word as the whole line ("Ordine n. 12" on an invoice is no title; "ORDER" alone is a
        # restaurant slip's, and an invoice's, so English and French are left to the phrases above).
        (r"^[^a-z0-9\n]*(?:pedido|ordine)[^a-z\n]*$", 8.0),
        (r"purchase order|\bp\.?o\.? (no|number|#)", 2.0),  # an invoice names the order it bills
        (r"supplier|vendor|nha cung cap|ship to|deliver to|delivery date|ngay giao hang|dia diem giao hang", 2.0),
    ),
    "sales_order": (
        (r"^[^a-z0-9\n]*(?:sales order|don ban hang|don hang ban|order confirmation|xac nhan don hang|"
         r"auftragsbestatigung|confirmation de commande|orderbevestiging|conferma d'ordine|"
         r"confirmacion de pedido|potwierdzenie zamowienia)", 9.0),
        (r"sales order|\bs\.?o\.? (no|number|#)", 2.0),
        (r"sold to|customer|khach hang|ship to|salesperson|sales rep", 1.5),
    ),
}
# Ties go to the more common document.
_TIE_ORDER = ("receipt", "invoice", "cccd_front", "cccd_back", "purchase_order", "sales_order")
_COMPILED = {t: tuple((re.compile(r"(?<![a-z])(?:" + p + r")", re.M), w) for p, w in cues) for t, cues in _CUES.items()}
# A TD1 line as OCR reads it: "IDVNM" + digits and fillers (``<`` read as ``<``, ``K``, ``«``).
_MRZ_LINE1 = re.compile(r"^I[D0O]VNM[0-9A-Z<«K]{10,}")
_MRZ_FILLERS = re.compile(r"[<«]{3,}")


def classify(ocr: OcrResult, image=None) -> Classification:
    """Classify one document from its OCR lines (and its image for the QR code).

    Args:
        ocr: OCR output of the document's page.
        image: the decoded ``(H, W, 3)`` BGR image; the CCCD QR code is
            looked for only when the printed cues score below 3 (a card
            photographed too blurred to read; one zxing-cpp pass, ~10-50 ms).

    Returns:
        The :class:`Classification`; ``other`` with confidence 0 when no cue
        is present.
    """
    from app.classify.language import fold_page, page_language

    texts = [line.text for line in ocr.lines]
    language = ocr.language or page_language(texts)
    page = fold_page("\n".join(texts))

    if _has_mrz(texts):
        return Classification("cccd_back", 0.99, "mrz", {"cccd_back": 10.0}, language)

    scores = {t: 0.0 for t in TYPES if t != "other"}
    for name, cues in _COMPILED.items():
        scores[name] = sum(w for pattern, w in cues if pattern.search(page))
    layout = _receipt_layout(ocr)
    if layout:
        scores["receipt"] += layout
    elif scores["receipt"] and not _NAMED_RECEIPT.search(page) and _page_width_in_line_heights(ocr) >= WIDE_PAGE:
        # A4 or Letter, not a till roll, and not called a receipt: the receipt words on it (thanks,
        # totals, "HÓA ĐƠN BÁN HÀNG", which Circular 78 also names an invoice form) are an invoice's.
        moved = WIDE_PAGE_SHARE * scores["receipt"]
        scores["receipt"] -= moved
        scores["invoice"] += moved
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], _TIE_ORDER.index(kv[0])))
    (top, top_score), (_, second_score) = ranked[0], ranked[1]
    if image is not None and top_score < 3.0:  # the print says little: a CCCD QR code decides
        payload = _cccd_qr_payload(image)
        if payload is not None:
            return Classification("cccd_front", 0.99, "qr", {**scores, "cccd_front": scores["cccd_front"] + 10},
                                  language, payload)
    if top_score <= 0:
        return Classification("other", 0.0, "none", scores, language)
    confidence = top_score / (top_score + second_score + 1.0)
    if top_score < 2.0:
        return Classification("other", round(1 - confidence, 3), "text", scores, language)
    source = "layout" if top == "receipt" and layout and scores["receipt"] - layout < 2.0 else "text"
    return Classification(top, confidence, source, scores, language)


def _has_mrz(texts: list[str]) -> bool:
    """A TD1 first line ("IDVNM...") or two lines of MRZ fillers."""
    compact = [re.sub(r"\s+", "", t).upper() for t in texts]
    if any(_MRZ_LINE1.match(c) for c in compact):
        return True
    return sum(1 for c in compact if len(c) >= 25 and _MRZ_FILLERS.search(c) and re.fullmatch(r"[0-9A-Z<«]+", c)) >= 2


#: Text-area width, in median line heights, from which a page is a sheet, not a till roll: a
#: 58-80 mm roll holds 32-48 characters, 16-30 line heights (SROIE transcripts: at most 30;
#: MC-OCR photos: at most 28); A4 and Letter invoices 46-71 (invoice2data), 53-56 (synthetic).
WIDE_PAGE = 40.0
#: A page that calls itself a receipt (a hotel's "PAYMENT RECEIPT" on A4 stays one).
_NAMED_RECEIPT = re.compile(r"(?<![a-z])(?:receipt|cash bill|phieu thanh toan|phieu tinh tien|bien lai|"
                            r"phieu mua hang)\b")
#: Share of the receipt cues' weight that goes to the invoice on a wide page.
WIDE_PAGE_SHARE = 0.75


def _text_area(ocr: OcrResult) -> tuple[float, float]:
    """Width and height of the box around every line (pixels or points)."""
    xs = [x for line in ocr.lines for x, _ in line.box]
    ys = [y for line in ocr.lines for _, y in line.box]
    return max(xs) - min(xs), max(ys) - min(ys)


def _page_width_in_line_heights(ocr: OcrResult) -> float:
    """Width of the text area divided by the median line height (bounding boxes, pixels or
    points); 0 under 8 lines."""
    if len(ocr.lines) < 8:
        return 0.0
    height = statistics.median(max(y for _, y in line.box) - min(y for _, y in line.box) for line in ocr.lines)
    return _text_area(ocr)[0] / height if height > 0 else 0.0


def _receipt_layout(ocr: OcrResult) -> float:
    """Layout weight for a receipt: the text area is a tall narrow column
    (height >= 1.6 x width) with at least 8 lines; 0 otherwise."""
    if len(ocr.lines) < 8:
        return 0.0
    width, height = _text_area(ocr)
    if width <= 0:
        return 0.0
    return 2.0 if height / width >= 1.6 else 0.0


def _cccd_qr_payload(image) -> str | None:
    """The text of a QR code in the image as given (one zxing-cpp pass) whose payload
    parses as a CCCD payload (:func:`app.extraction.readers.qr.parse_cccd_qr_payload`);
    None when there is none."""
    from app.errors import EngineUnavailable, InvalidImage
    from app.extraction.readers.qr import parse_cccd_qr_payload, read_qr_texts

    try:
        texts = read_qr_texts(image, max_variants=1)
    except (EngineUnavailable, InvalidImage):
        return None  # zxing-cpp missing or not an image array: no QR evidence
    for text in texts:
        try:
            parse_cccd_qr_payload(text)
            return text
        except ValueError:
            continue
    return None
