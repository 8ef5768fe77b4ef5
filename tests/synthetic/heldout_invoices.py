"""Held-out synthetic invoices: a second generator, written apart from the readers' lexicon.

``tests/synthetic/kv_invoices.py`` was written together with the key-value reader's lexicon
and trains its ranker, so its figures are optimistic. This generator was written in one
sitting (2026-12-07) from how invoices are commonly printed, without reading the lexicon
(``app/extraction/readers/kv_lexicon.py``) or the column captions of the line-item reader,
and trains no model. Its first figures were recorded before any change (seed 1 85.0 %, seed 2
86.6 % of header fields); since then seed 1 is its tune seed (its failures were read and the
lexicon grew from them) and seed 2 its report seed (``bench/invoice_eval.py --set heldout
--seed 2``), whose failures are not to be read. Caption wordings, date and amount forms, party blocks and table column
orders are its own; where they coincide with the lexicon, it is because invoices print them.

Layout families (``LAYOUTS``):

* ``letterhead``: the seller's name and address centred at the top, a two-column meta box
  at the right (caption cell | value cell), "bill to" block at the left, items table with
  the quantity first, totals right-aligned under it, bank details and a footer;
* ``banner``: a document title, one meta row "No. … | Date … | Customer ID …", the two
  parties side by side under "From" / "To" captions, items with a position number and
  hours x rate, totals with the tax rate in the caption;
* ``footer``: a logo word at the top left, the seller's full legal line only in the footer
  ("Name · street · city · VAT id"), meta lines "Caption value" without a colon at the
  right, the buyer's address window at the left, items with an article number column.

Languages (``LANGUAGES``): English, German, French, Spanish, Italian, Dutch, Vietnamese.
Document ``i`` of a seed depends only on the seed and ``i``. Sizes: A4, PDF points from the
top-left.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from tests.synthetic.kv_invoices import _MONTHS, KvDocument, KvItem  # month names are not the lexicon

LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "vi")
LAYOUTS = ("letterhead", "banner", "footer")


# Per language: several printed wordings of each caption, the VAT word and rates, legal forms.
_W = {
    "en": dict(title=["INVOICE", "Tax Invoice", "Invoice"], number=["Invoice #", "Invoice No.", "Invoice number",
               "Reference"], date=["Date", "Invoice date", "Date issued", "Issue date"],
               due=["Due date", "Payment due"], customer_id=["Customer ID", "Account no."],
               buyer=["Bill to", "Billed to", "Invoice to", "Customer"], seller=["From", "Supplier"],
               subtotal=["Subtotal", "Net total", "Total excl. VAT"], tax=["VAT {r}%", "Sales tax ({r}%)", "Tax {r}%"],
               total=["Total due", "Amount due", "Total", "Balance due"], qty="Qty", desc=["Description", "Item",
               "Service"], price=["Unit price", "Rate", "Price"], amount=["Amount", "Line total", "Total"],
               hours="Hours", pos="#", art="SKU", legal=["Ltd", "LLC", "Inc.", "Limited"], rates=[20, 5, 8.25],
               bank="Bank: Northwind Bank, IBAN GB29 NWBK 6016 1331 9268 19", thanks="Thank you for your business.",
               street="{n} Market Street, Leeds LS1 6DT"),
    "de": dict(title=["Rechnung", "RECHNUNG"], number=["Rechnungs-Nr.", "Rechnungsnummer", "Beleg-Nr."],
               date=["Rechnungsdatum", "Datum", "Belegdatum"], due=["Fällig am", "Zahlungsziel"],
               customer_id=["Kunden-Nr.", "Kundennummer"], buyer=["Rechnungsempfänger", "Kunde", "An"],
               seller=["Von", "Lieferant"], subtotal=["Nettobetrag", "Summe netto", "Zwischensumme"],
               tax=["zzgl. {r} % MwSt.", "USt. {r} %", "MwSt. {r}%"], total=["Rechnungsbetrag", "Gesamtbetrag",
               "Endbetrag", "Zu zahlen"], qty="Menge", desc=["Bezeichnung", "Beschreibung", "Leistung"],
               price=["Einzelpreis", "E-Preis", "Preis"], amount=["Gesamt", "Betrag", "Gesamtpreis"], hours="Std.",
               pos="Pos.", art="Art.-Nr.", legal=["GmbH", "AG", "KG", "GmbH & Co. KG"], rates=[19, 7],
               bank="Bankverbindung: Sparkasse, IBAN DE89 3704 0044 0532 0130 00",
               thanks="Vielen Dank für Ihren Auftrag.", street="Hauptstraße {n}, 10115 Berlin"),
    "fr": dict(title=["FACTURE", "Facture"], number=["Facture n°", "N° de facture", "Numéro de facture"],
               date=["Date", "Date de facture", "Date d'émission"], due=["Échéance", "Date d'échéance"],
               customer_id=["Code client", "N° client"], buyer=["Facturé à", "Client", "Destinataire"],
               seller=["Émetteur", "Fournisseur"], subtotal=["Total HT", "Montant HT", "Sous-total HT"],
               tax=["TVA {r} %", "TVA ({r}%)"], total=["Total TTC", "Net à payer", "Montant TTC"], qty="Qté",
               desc=["Désignation", "Description", "Libellé"], price=["Prix unitaire", "P.U. HT", "Prix U."],
               amount=["Montant", "Total HT", "Montant HT"], hours="Heures", pos="N°", art="Réf.",
               legal=["SARL", "SAS", "SA", "EURL"], rates=[20, 10, 5.5],
               bank="Banque : Crédit Mutuel, IBAN FR76 3000 6000 0112 3456 7890 189",
               thanks="Merci pour votre confiance.", street="{n} rue de la République, 69002 Lyon"),
    "es": dict(title=["FACTURA", "Factura"], number=["Factura nº", "Nº factura", "Número de factura"],
               date=["Fecha", "Fecha de emisión", "Fecha factura"], due=["Vencimiento", "Fecha de vencimiento"],
               customer_id=["Nº cliente", "Código cliente"], buyer=["Cliente", "Facturar a", "Datos del cliente"],
               seller=["Emisor", "Proveedor"], subtotal=["Base imponible", "Subtotal", "Importe neto"],
               tax=["IVA {r}%", "IVA ({r} %)"], total=["Total factura", "Total", "Importe total", "Total a pagar"],
               qty="Cant.", desc=["Concepto", "Descripción", "Artículo"], price=["Precio unitario", "Precio",
               "P. unit."], amount=["Importe", "Total", "Subtotal"], hours="Horas", pos="Nº", art="Ref.",
               legal=["S.L.", "S.A.", "S.L.U."], rates=[21, 10, 4],
               bank="Banco: Caixa, IBAN ES91 2100 0418 4502 0005 1332",
               thanks="Gracias por su confianza.", street="Calle Mayor {n}, 28013 Madrid"),
    "it": dict(title=["FATTURA", "Fattura"], number=["Fattura n.", "Numero fattura", "N. documento"],
               date=["Data", "Data fattura", "Data documento"], due=["Scadenza", "Data scadenza"],
               customer_id=["Cod. cliente", "Codice cliente"], buyer=["Cliente", "Destinatario", "Intestatario"],
               seller=["Mittente", "Fornitore"], subtotal=["Imponibile", "Totale imponibile", "Totale netto"],
               tax=["IVA {r}%", "IVA ({r} %)"], total=["Totale documento", "Totale fattura", "Totale da pagare"],
               qty="Q.tà", desc=["Descrizione", "Articolo", "Prestazione"], price=["Prezzo unitario", "Prezzo",
               "P. unit."], amount=["Importo", "Totale", "Imponibile"], hours="Ore", pos="N.", art="Cod. art.",
               legal=["S.r.l.", "S.p.A.", "S.n.c."], rates=[22, 10, 4],
               bank="Banca: Intesa, IBAN IT60 X054 2811 1010 0000 0123 456",
               thanks="Grazie per la fiducia.", street="Via Roma {n}, 20121 Milano"),
    "nl": dict(title=["FACTUUR", "Factuur"], number=["Factuurnummer", "Factuur nr.", "Factuurnr."],
               date=["Factuurdatum", "Datum"], due=["Vervaldatum", "Te betalen voor"],
               customer_id=["Klantnummer", "Debiteurnr."], buyer=["Klant", "Factuur aan", "Aan"],
               seller=["Van", "Leverancier"], subtotal=["Subtotaal", "Totaal excl. btw", "Netto bedrag"],
               tax=["BTW {r}%", "btw {r} %"], total=["Totaal", "Te betalen", "Totaal incl. btw"], qty="Aantal",
               desc=["Omschrijving", "Artikel", "Dienst"], price=["Prijs", "Stukprijs", "Tarief"],
               amount=["Bedrag", "Totaal", "Subtotaal"], hours="Uren", pos="Nr.", art="Art.nr.",
               legal=["B.V.", "N.V.", "V.O.F."], rates=[21, 9],
               bank="Bank: Rabobank, IBAN NL91 ABNA 0417 1643 00", thanks="Bedankt voor uw bestelling.",
               street="Kerkstraat {n}, 1017 GC Amsterdam"),
    "vi": dict(title=["HÓA ĐƠN", "HÓA ĐƠN BÁN HÀNG", "HÓA ĐƠN GIÁ TRỊ GIA TĂNG"],
               number=["Số hóa đơn", "Số HĐ", "Số"], date=["Ngày lập", "Ngày hóa đơn", "Ngày"],
               due=["Hạn thanh toán"], customer_id=["Mã khách hàng", "Mã KH"],
               buyer=["Khách hàng", "Người mua hàng", "Đơn vị mua hàng"], seller=["Đơn vị bán", "Nhà cung cấp"],
               subtotal=["Cộng tiền hàng", "Tiền hàng", "Thành tiền trước thuế"],
               tax=["Thuế GTGT {r}%", "Tiền thuế GTGT ({r}%)"], total=["Tổng cộng thanh toán", "Tổng thanh toán",
               "Tổng tiền thanh toán"], qty="SL", desc=["Tên hàng hóa, dịch vụ", "Diễn giải", "Mặt hàng"],
               price=["Đơn giá"], amount=["Thành tiền"], hours="Giờ", pos="STT", art="Mã hàng",
               legal=["CÔNG TY TNHH", "CÔNG TY CỔ PHẦN"], rates=[10, 8, 5],
               bank="Ngân hàng: Vietcombank, STK 0071000123456", thanks="Cảm ơn quý khách.",
               street="Số {n} Lê Lợi, Quận 1, TP. Hồ Chí Minh"),
}
_NAMES = ["Harbor", "Lindqvist", "Orion", "Bellavista", "Kestrel", "Meridian", "Tannery", "Blue Fjord", "Quercus",
          "Sable", "Copperleaf", "Northgate", "Vireo", "Larkspur", "Ironwood", "Calder"]
_VI_NAMES = ["PHÚ THÀNH", "AN KHANG", "HẢI ĐĂNG", "MINH TÂM", "THIÊN PHÚC", "BẢO NGỌC", "ĐẠI LỘC", "HOÀNG GIA"]
_GOODS = {
    "en": ["Consulting services", "Network cable Cat6, 305 m", "Office chair, black", "Annual support plan",
           "Printer toner TN-2420", "Website maintenance", "LED panel 60x60", "Training workshop (half day)"],
    "de": ["Beratungsleistung", "Netzwerkkabel Cat6, 305 m", "Bürostuhl schwarz", "Wartungsvertrag jährlich",
           "Tonerkartusche TN-2420", "Montage vor Ort", "LED-Panel 60x60", "Schulung (halber Tag)"],
    "fr": ["Prestation de conseil", "Câble réseau Cat6, 305 m", "Chaise de bureau noire", "Contrat de maintenance",
           "Cartouche de toner TN-2420", "Installation sur site", "Dalle LED 60x60", "Formation (demi-journée)"],
    "es": ["Servicios de consultoría", "Cable de red Cat6, 305 m", "Silla de oficina negra", "Plan de soporte anual",
           "Tóner TN-2420", "Instalación in situ", "Panel LED 60x60", "Taller de formación"],
    "it": ["Servizio di consulenza", "Cavo di rete Cat6, 305 m", "Sedia da ufficio nera", "Contratto di assistenza",
           "Toner TN-2420", "Installazione in loco", "Pannello LED 60x60", "Corso di formazione"],
    "nl": ["Adviesdiensten", "Netwerkkabel Cat6, 305 m", "Bureaustoel zwart", "Onderhoudscontract",
           "Toner TN-2420", "Installatie op locatie", "LED-paneel 60x60", "Training (halve dag)"],
    "vi": ["Dịch vụ tư vấn", "Cáp mạng Cat6, 305 m", "Ghế văn phòng màu đen", "Gói bảo trì hằng năm",
           "Mực in TN-2420", "Lắp đặt tại chỗ", "Đèn LED panel 60x60", "Khóa đào tạo nửa ngày"],
}


def _money(value: Decimal, language: str, style: int) -> str:
    """An amount as the language prints it (Vietnamese: whole dong, dots between thousands)."""
    q = value.quantize(Decimal("1") if language == "vi" else Decimal("0.01"), ROUND_HALF_UP)
    whole, _, frac = f"{q:f}".partition(".")
    groups = f"{int(whole):,}"
    if language == "vi":
        return groups.replace(",", ".") + (" đ" if style % 3 == 0 else "")
    if language == "en":
        return ("$" if style % 4 == 1 else "") + f"{groups}.{frac}"
    sep = {"fr": " ", "nl": "."}.get(language, ".")
    text = groups.replace(",", sep) + "," + frac
    return text + (" €" if style % 3 == 1 else "")


def _when(d: date, language: str, style: int) -> str:
    """A date as the language prints it, in one of a few forms."""
    if language == "vi":
        return f"{d.day:02d}/{d.month:02d}/{d.year}" if style % 2 else f"{d.day:02d}-{d.month:02d}-{d.year}"
    months = _MONTHS[language]
    if style % 3 == 0:
        return d.isoformat()
    if style % 3 == 1:
        sep = {"de": ".", "nl": "-"}.get(language, "/")
        if language == "en":
            return f"{d.month:02d}/{d.day:02d}/{d.year}" if style % 2 else f"{d.day:02d}/{d.month:02d}/{d.year}"
        return f"{d.day:02d}{sep}{d.month:02d}{sep}{d.year}"
    if language == "en":
        return f"{months[d.month - 1][:3]} {d.day}, {d.year}"
    if language == "de":
        return f"{d.day}. {months[d.month - 1]} {d.year}"
    if language == "es":
        return f"{d.day} de {months[d.month - 1]} de {d.year}"
    return f"{d.day} {months[d.month - 1]} {d.year}"


def _company(rng: random.Random, language: str) -> str:
    w = _W[language]
    if language == "vi":
        return f"{rng.choice(w['legal'])} {rng.choice(['THƯƠNG MẠI', 'DỊCH VỤ', 'CÔNG NGHỆ'])} {rng.choice(_VI_NAMES)}"
    return f"{rng.choice(_NAMES)} {rng.choice(['Systems', 'Trading', 'Solutions', 'Works', 'Supply'])} " \
           f"{rng.choice(w['legal'])}"


def make_heldout_document(seed: int, index: int, language: str | None = None,
                          layout: str | None = None) -> KvDocument:
    """Held-out invoice ``index`` of ``seed`` (language and layout drawn unless given).

    Returns:
        A :class:`~tests.synthetic.kv_invoices.KvDocument` (kind ``invoice``) whose
        ``normalized`` holds ``invoice_number``, ``date`` (ISO), ``seller``, ``buyer``,
        ``subtotal``, ``tax_amount``, ``total``; render it with ``render_kv_pdf``.
    """
    rng = random.Random(seed * 7_919 + index * 104_729 + 17)
    language = language or rng.choice(LANGUAGES)
    layout = layout or rng.choice(LAYOUTS)
    w = _W[language]
    style = rng.randrange(12)
    doc = KvDocument(seed, index, language, layout, "invoice")
    seller, buyer = _company(rng, language), _company(rng, language)
    while buyer == seller:
        buyer = _company(rng, language)
    number = rng.choice([f"INV-{2025}-{rng.randrange(1, 9999):04d}", f"{rng.randrange(10000, 999999)}",
                         f"{rng.choice('ABCFR')}{rng.randrange(100, 999)}/{rng.randrange(20, 26)}",
                         f"{rng.randrange(2024, 2026)}{rng.randrange(1, 999):05d}"])
    issued = date(2025, 1, 1) + timedelta(days=rng.randrange(360))
    due = issued + timedelta(days=rng.choice([14, 30, 45]))
    rate = Decimal(str(rng.choice(w["rates"])))
    unit = Decimal("1000") if language == "vi" else Decimal("1")
    items = []
    for desc in rng.sample(_GOODS[language], rng.randrange(2, 7)):
        qty = Decimal(rng.randrange(1, 12))
        price = (Decimal(rng.randrange(500, 90000)) / 100 * unit).quantize(unit if language == "vi" else Decimal("0.01"))
        items.append(KvItem(desc, qty, price, (qty * price).quantize(Decimal("0.01"))))
    subtotal = sum((i.amount for i in items), Decimal(0))
    tax = (subtotal * rate / 100).quantize(Decimal("1") if language == "vi" else Decimal("0.01"), ROUND_HALF_UP)
    total = subtotal + tax
    doc.items = items
    doc.normalized = {"invoice_number": number, "date": issued.isoformat(), "seller": seller, "buyer": buyer,
                      "subtotal": f"{subtotal:f}", "tax_amount": f"{tax:f}", "total": f"{total:f}"}
    doc.truth = dict(doc.normalized)
    m = lambda v: _money(v, language, style)  # noqa: E731
    rate_text = f"{rate:f}".rstrip("0").rstrip(".") if "." in f"{rate:f}" else f"{rate:f}"
    if language in ("de", "fr", "es", "it", "nl"):
        rate_text = rate_text.replace(".", ",")
    pick = rng.choice
    L = doc.lines.append

    def meta(x, y, caption, value, gap=95, colon=True):
        L((x, y, caption + (":" if colon else ""), False, 9))
        L((x + gap, y, value, True, 9))

    address = w["street"].format(n=rng.randrange(1, 180))
    buyer_address = w["street"].format(n=rng.randrange(1, 180))
    if layout == "letterhead":
        L((297 - len(seller) * 3.2, 50, seller, True, 14))
        L((297 - len(address) * 2.3, 68, address, False, 8))
        L((40, 110, pick(w["title"]), True, 18))
        y = 150
        for caption, value in ((pick(w["number"]), number), (pick(w["date"]), _when(issued, language, style)),
                               (pick(w["due"]), _when(due, language, style + 1)),
                               (pick(w["customer_id"]), f"C-{rng.randrange(100, 9999)}")):
            meta(360, y, caption, value, gap=100, colon=False)
            y += 16
        L((40, 150, pick(w["buyer"]) + ":", True, 9))
        L((40, 166, buyer, False, 9))
        L((40, 180, buyer_address, False, 9))
        cols = [(40, w["qty"]), (80, pick(w["desc"])), (370, pick(w["price"])), (480, pick(w["amount"]))]
        row = lambda it: [(40, f"{it.quantity}"), (80, it.description), (370, m(it.unit_price)), (480, m(it.amount))]  # noqa: E731
        top = 240
    elif layout == "banner":
        L((220, 50, pick(w["title"]).upper(), True, 20))
        meta_row = [f"{pick(w['number'])} {number}", f"{pick(w['date'])}: {_when(issued, language, style)}",
                    f"{pick(w['customer_id'])}: K{rng.randrange(1000, 99999)}"]
        for k, text in enumerate(meta_row):
            L((40 + 185 * k, 90, text, False, 9))
        L((40, 130, pick(w["seller"]) + ":", True, 9))
        L((40, 146, seller, False, 9))
        L((40, 160, address, False, 8))
        L((320, 130, pick(w["buyer"]) + ":", True, 9))
        L((320, 146, buyer, False, 9))
        L((320, 160, buyer_address, False, 8))
        cols = [(40, w["pos"]), (70, pick(w["desc"])), (340, w["hours"]), (400, pick(w["price"])),
                (480, pick(w["amount"]))]
        row = lambda it: [(40, str(items.index(it) + 1)), (70, it.description), (345, f"{it.quantity}"),  # noqa: E731
                          (400, m(it.unit_price)), (480, m(it.amount))]
        top = 210
    else:  # footer
        brand = " ".join(seller.split()[-2:]) if language == "vi" else seller.split()[0]
        L((40, 45, brand.upper(), True, 22))
        L((40, 120, buyer, False, 10))
        L((40, 134, buyer_address, False, 10))
        y = 110
        for caption, value in ((pick(w["number"]), number), (pick(w["date"]), _when(issued, language, style)),
                               (pick(w["customer_id"]), f"{rng.randrange(10000, 99999)}")):
            meta(350, y, caption, value, gap=110, colon=False)
            y += 15
        L((40, 190, pick(w["title"]) + " " + number, True, 14))
        cols = [(40, w["pos"]), (75, w["art"]), (140, pick(w["desc"])), (370, w["qty"]), (410, pick(w["price"])),
                (490, pick(w["amount"]))]
        row = lambda it: [(40, str(items.index(it) + 1)), (75, f"{rng.randrange(10000, 99999)}"),  # noqa: E731
                          (140, it.description), (375, f"{it.quantity}"), (410, m(it.unit_price)), (490, m(it.amount))]
        top = 225
    for x, text in cols:
        L((x, top, text, True, 9))
    y = top + 18
    for it in items:
        for x, text in row(it):
            L((x, y, text, False, 9))
        y += 16
    y += 14
    for caption, value in ((pick(w["subtotal"]), subtotal), (pick(w["tax"]).format(r=rate_text), tax),
                           (pick(w["total"]), total)):
        L((360, y, caption, False, 9))
        L((480, y, m(value), False, 9))
        y += 16
    L((40, y + 30, w["bank"], False, 8))
    L((40, y + 44, w["thanks"], False, 8))
    if layout == "footer":
        vat_id = {"de": "USt-IdNr.", "fr": "N° TVA", "es": "CIF", "it": "P. IVA", "nl": "BTW-nr.", "en": "VAT No.",
                  "vi": "MST"}[language]
        L((40, 800, f"{seller} · {address} · {vat_id} {rng.randrange(10**8, 10**9)}", False, 7))
    return doc
