"""Synthetic invoices and orders in nine languages and five layout families, with known fields.

Rendered at test time from a seed (never committed) as born-digital PDFs (reportlab,
DejaVu fonts), for the key–value reader's training and evaluation
(``bench/train_kv_ranker.py``, ``bench/invoice_eval.py``). Document ``i`` of a seed
depends only on the seed and ``i``.

Languages: Vietnamese with and without tone marks (``vi``, ``vi_plain``), English,
French, German, Dutch, Spanish, Italian, Polish. Each language has several ways to
print each caption, its date forms, its amount form (``1,234.56``, ``1.234,56``,
``1 234,56``, ``1.234.567``), legal forms and tax identifiers.

Layout families (``LAYOUTS``):

* ``stacked``: "Caption: value" lines in a block at the top right, the seller's name
  and address at the top left, the buyer's block under a caption;
* ``columns``: captions in one column and their values in another, far to the right
  (separate text lines);
* ``grid``: a row of captions with the values in the row below (table cells);
* ``inline``: the number and date in the title sentence ("Rechnung Nr. 471102 vom
  05.06.2025"), the two parties side by side under their captions with a ``Name:`` line;
* ``vn``: a Vietnamese VAT invoice (``Ký hiệu`` / ``Số``, ``Ngày .. tháng .. năm``,
  ``Đơn vị bán hàng``, ``Mã số thuế``, ``Tên đơn vị``).

Every document also prints distractors the reader must not take: a customer number,
a due date, an order reference, bank details, a phone number, a page number.

Sizes: A4 pages, coordinates in PDF points (1/72 inch).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SANS = FONT_DIR / "DejaVuSans.ttf"
SANS_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"

LANGUAGES = ("vi", "vi_plain", "en", "fr", "de", "nl", "es", "it", "pl")
LAYOUTS = ("stacked", "columns", "grid", "inline", "vn")
#: Header fields every document carries, by key of the ``invoice`` document type.
HEADER_FIELDS = ("invoice_number", "date", "seller", "seller_tax_code", "buyer", "subtotal", "tax_amount", "total")

_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"],
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"],
    "it": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
           "ottobre", "novembre", "dicembre"],
    "pl": ["stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września",
           "października", "listopada", "grudnia"],
}

# Per language: the captions as printed (several forms each), titles, words.
_L: dict[str, dict] = {
    "en": dict(
        title=["INVOICE", "Tax Invoice", "Invoice"], po_title=["PURCHASE ORDER", "Purchase Order"],
        number=["Invoice No.", "Invoice Number", "Invoice #", "Inv. No.", "Invoice no"],
        po_number=["PO Number", "Order No.", "Purchase Order No.", "PO #"],
        date=["Invoice Date", "Date", "Date of issue", "Issue date"], po_date=["Order Date", "Date"],
        due=["Due Date", "Payment due"], seller=["From", "Seller", "Vendor", "Service Provider", "Supplier"],
        buyer=["Bill To", "Billed to", "Customer", "Invoice to", "Sold to"],
        tax_id=["VAT No.", "VAT Reg. No.", "Tax ID", "VAT Number"], subtotal=["Subtotal", "Net amount", "Total net"],
        tax=["VAT 20%", "Tax", "VAT", "Sales tax"], total=["Total", "Total due", "Amount due", "Grand Total",
                                                          "Balance due"],
        customer_no=["Customer No.", "Account No."], order_ref=["Your reference", "PO reference"],
        header=("Description", "Qty", "Unit price", "Amount"), name=["Name"], page="Page", phone="Phone",
        legal=["Ltd", "Inc.", "LLC", "Limited"], country="GB", tax_pct="20", joiner="dated",
    ),
    "fr": dict(
        title=["FACTURE", "Facture"], po_title=["BON DE COMMANDE", "Bon de commande"],
        number=["Facture n°", "N° de facture", "Numéro de facture", "Facture N°"],
        po_number=["N° de commande", "Commande n°", "Numéro de commande"],
        date=["Date de facture", "Date", "Date d'émission"], po_date=["Date de commande", "Date"],
        due=["Date d'échéance", "Échéance"], seller=["Fournisseur", "Vendeur", "Émetteur"],
        buyer=["Client", "Facturé à", "Acheteur", "Destinataire"],
        tax_id=["N° TVA", "TVA intracommunautaire", "Numéro de TVA"],
        subtotal=["Total HT", "Montant HT", "Sous-total"], tax=["TVA 20%", "Total TVA", "Montant TVA"],
        total=["Total TTC", "Net à payer", "Montant TTC"], customer_no=["N° client", "Code client"],
        order_ref=["Votre référence", "Réf. commande"], header=("Désignation", "Qté", "Prix unitaire", "Montant HT"),
        name=["Nom", "Raison sociale"], page="Page", phone="Tél.", legal=["SARL", "SAS", "SA"], country="FR",
        tax_pct="20", joiner="du",
    ),
    "de": dict(
        title=["RECHNUNG", "Rechnung", "Handelsrechnung"], po_title=["BESTELLUNG", "Bestellung"],
        number=["Rechnungsnummer", "Rechnungs-Nr.", "Rechnung Nr.", "Nr."],
        po_number=["Bestellnummer", "Bestell-Nr.", "Auftragsnummer"],
        date=["Rechnungsdatum", "Datum", "Belegdatum"], po_date=["Bestelldatum", "Datum"],
        due=["Fällig am", "Zahlbar bis", "Fälligkeitsdatum"], seller=["Verkäufer", "Lieferant", "Rechnungssteller"],
        buyer=["Käufer", "Kunde", "Rechnungsempfänger"], tax_id=["USt-IdNr.", "USt-ID", "Steuernummer"],
        subtotal=["Nettobetrag", "Zwischensumme", "Summe netto"], tax=["MwSt. 19%", "Umsatzsteuer 19%", "USt 19%"],
        total=["Gesamtbetrag", "Rechnungsbetrag", "Endbetrag", "Zu zahlen"], customer_no=["Kundennummer", "Kunden-Nr."],
        order_ref=["Ihre Bestellung", "Auftrag"], header=("Bezeichnung", "Menge", "Einzelpreis", "Gesamtpreis"),
        name=["Name", "Firma"], page="Seite", phone="Tel.", legal=["GmbH", "AG", "KG", "GmbH & Co. KG"],
        country="DE", tax_pct="19", joiner="vom",
    ),
    "nl": dict(
        title=["FACTUUR", "Factuur"], po_title=["INKOOPORDER", "Bestelling"],
        number=["Factuurnummer", "Factuur nr.", "Factuurnr."], po_number=["Ordernummer", "Bestelnummer"],
        date=["Factuurdatum", "Datum"], po_date=["Orderdatum", "Datum"], due=["Vervaldatum", "Betalen voor"],
        seller=["Leverancier", "Verkoper"], buyer=["Klant", "Koper", "Factuuradres"],
        tax_id=["BTW-nummer", "BTW nr.", "Btw-id"], subtotal=["Subtotaal", "Totaal excl. btw", "Netto bedrag"],
        tax=["BTW 21%", "Btw 21%"], total=["Totaal", "Te betalen", "Totaal incl. btw"],
        customer_no=["Klantnummer"], order_ref=["Uw referentie"], header=("Omschrijving", "Aantal", "Prijs", "Bedrag"),
        name=["Naam"], page="Pagina", phone="Tel.", legal=["B.V.", "N.V."], country="NL", tax_pct="21",
        joiner="van",
    ),
    "es": dict(
        title=["FACTURA", "Factura"], po_title=["ORDEN DE COMPRA", "Pedido"],
        number=["Factura n.º", "Número de factura", "Nº factura", "Factura No."],
        po_number=["Número de pedido", "Pedido n.º"], date=["Fecha", "Fecha de factura", "Fecha de emisión"],
        po_date=["Fecha de pedido", "Fecha"], due=["Fecha de vencimiento", "Vencimiento"],
        seller=["Proveedor", "Vendedor", "Emisor"], buyer=["Cliente", "Comprador", "Facturar a"],
        tax_id=["NIF", "CIF", "NIF/CIF"], subtotal=["Base imponible", "Subtotal"], tax=["IVA 21%", "Cuota IVA"],
        total=["Total factura", "Importe total", "Total"], customer_no=["Nº cliente", "Código cliente"],
        order_ref=["Su referencia"], header=("Descripción", "Cantidad", "Precio unitario", "Importe"),
        name=["Nombre", "Razón social"], page="Página", phone="Tel.", legal=["S.L.", "S.A."], country="ES",
        tax_pct="21", joiner="de fecha",
    ),
    "it": dict(
        title=["FATTURA", "Fattura"], po_title=["ORDINE DI ACQUISTO", "Ordine"],
        number=["Fattura n.", "Numero fattura", "N. fattura"], po_number=["Numero ordine", "Ordine n."],
        date=["Data", "Data fattura", "Data documento"], po_date=["Data ordine", "Data"],
        due=["Scadenza", "Data scadenza"], seller=["Fornitore", "Cedente", "Venditore"],
        buyer=["Cliente", "Cessionario", "Committente"], tax_id=["Partita IVA", "P. IVA", "P.IVA"],
        subtotal=["Imponibile", "Totale imponibile"], tax=["IVA 22%", "Imposta"], total=["Totale", "Totale documento",
                                                                                        "Totale fattura"],
        customer_no=["Codice cliente"], order_ref=["Vs. riferimento"],
        header=("Descrizione", "Quantità", "Prezzo unitario", "Importo"), name=["Ragione sociale", "Nome"],
        page="Pagina", phone="Tel.", legal=["S.r.l.", "S.p.A."], country="IT", tax_pct="22",
        joiner="del",
    ),
    "pl": dict(
        title=["FAKTURA VAT", "Faktura"], po_title=["ZAMÓWIENIE", "Zamówienie"],
        number=["Faktura VAT nr", "Numer faktury", "Faktura nr"], po_number=["Numer zamówienia", "Zamówienie nr"],
        date=["Data wystawienia", "Data"], po_date=["Data zamówienia", "Data"], due=["Termin płatności"],
        seller=["Sprzedawca", "Dostawca"], buyer=["Nabywca", "Odbiorca"], tax_id=["NIP"],
        subtotal=["Wartość netto", "Razem netto"], tax=["VAT 23%", "Kwota VAT"], total=["Do zapłaty",
                                                                                      "Razem brutto", "Wartość brutto"],
        customer_no=["Nr klienta"], order_ref=["Zamówienie"], header=("Nazwa towaru", "Ilość", "Cena netto", "Wartość"),
        name=["Nazwa"], page="Strona", phone="Tel.", legal=["Sp. z o.o.", "S.A."], country="PL", tax_pct="23",
        joiner="z dnia",
    ),
    "vi": dict(
        title=["HÓA ĐƠN GIÁ TRỊ GIA TĂNG", "HÓA ĐƠN BÁN HÀNG"], po_title=["ĐƠN ĐẶT HÀNG"],
        number=["Số hóa đơn", "Số", "Số HĐ"], po_number=["Số đơn đặt hàng", "Số PO"],
        date=["Ngày lập", "Ngày", "Ngày hóa đơn"], po_date=["Ngày đặt hàng", "Ngày"], due=["Hạn thanh toán"],
        seller=["Đơn vị bán hàng", "Người bán", "Bên bán"], buyer=["Người mua hàng", "Đơn vị mua hàng", "Bên mua",
                                                                   "Khách hàng"],
        tax_id=["Mã số thuế", "MST"], subtotal=["Cộng tiền hàng", "Tổng tiền hàng"],
        tax=["Tiền thuế GTGT", "Thuế GTGT 8%"], total=["Tổng cộng tiền thanh toán", "Tổng tiền thanh toán",
                                                       "Tổng cộng"],
        customer_no=["Mã khách hàng"], order_ref=["Số hợp đồng"],
        header=("Tên hàng hóa, dịch vụ", "Số lượng", "Đơn giá", "Thành tiền"), name=["Tên đơn vị", "Họ tên"],
        page="Trang", phone="Điện thoại", legal=["CÔNG TY TNHH", "CÔNG TY CỔ PHẦN"], country="VN", tax_pct="8",
        joiner="ngày",
    ),
}

_NAME_PARTS = ["Nord", "Alpen", "Blue", "River", "Sun", "Delta", "Atlas", "Nova", "Orion", "Vega", "Polar", "Terra",
               "Kron", "Lumen", "Vista", "Cedar", "Granite", "Harbor", "Summit", "Falcon"]
_TRADES = {"en": ["Supplies", "Trading", "Systems", "Logistics"], "fr": ["Fournitures", "Distribution", "Services"],
           "de": ["Handel", "Technik", "Logistik", "Bürobedarf"], "nl": ["Handel", "Techniek", "Groothandel"],
           "es": ["Suministros", "Distribución", "Servicios"], "it": ["Forniture", "Servizi", "Distribuzione"],
           "pl": ["Handel", "Serwis", "Dystrybucja"],
           "vi": ["THƯƠNG MẠI DỊCH VỤ", "CÔNG NGHỆ", "XÂY DỰNG", "VẬN TẢI"]}
_STREETS = {"en": "{n} High Street, London", "fr": "{n} rue de la Paix, 75002 Paris",
            "de": "Hauptstraße {n}, 10115 Berlin", "nl": "Kerkstraat {n}, 1017 GL Amsterdam",
            "es": "Calle Mayor {n}, 28013 Madrid", "it": "Via Roma {n}, 00184 Roma",
            "pl": "ul. Marszałkowska {n}, 00-001 Warszawa", "vi": "Số {n} Nguyễn Trãi, Quận 1, TP. Hồ Chí Minh"}
_GOODS = {"en": ["Copy paper A4", "Toner cartridge", "Office chair", "Desk lamp", "Network cable", "Consulting hours"],
          "fr": ["Papier A4", "Cartouche de toner", "Chaise de bureau", "Lampe de bureau", "Câble réseau"],
          "de": ["Kopierpapier A4", "Tonerkartusche", "Bürostuhl", "Schreibtischlampe", "Netzwerkkabel"],
          "nl": ["Kopieerpapier A4", "Tonercartridge", "Bureaustoel", "Bureaulamp", "Netwerkkabel"],
          "es": ["Papel A4", "Cartucho de tóner", "Silla de oficina", "Lámpara de escritorio", "Cable de red"],
          "it": ["Carta A4", "Cartuccia toner", "Sedia da ufficio", "Lampada da scrivania", "Cavo di rete"],
          "pl": ["Papier A4", "Toner", "Krzesło biurowe", "Lampka biurowa", "Kabel sieciowy"],
          "vi": ["Giấy in A4", "Mực in HP 85A", "Ghế xoay văn phòng", "Đèn bàn LED", "Cáp mạng Cat6"]}


def _plain(text: str) -> str:
    """Vietnamese without tone marks or diacritics (as typed on many systems); đ -> d."""
    import unicodedata

    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


@dataclass
class KvItem:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass
class KvDocument:
    """One synthetic document and its truth.

    Attributes:
        seed, index: what made it.
        language, layout, kind: ``kind`` is ``invoice`` or ``purchase_order``.
        truth: field key -> printed value (``invoice``/``purchase_order`` keys:
            ``invoice_number``/``order_number``, ``date``, ``seller``/``supplier``,
            ``buyer``, ``seller_tax_code``, ``subtotal``, ``tax_amount``, ``total``).
        normalized: the same fields normalised (ISO dates, amounts as strings).
        items: the line items.
        lines: ``(x, y, text, bold, size)`` to draw, PDF points from the top-left.
    """

    seed: int
    index: int
    language: str
    layout: str
    kind: str
    truth: dict[str, str] = field(default_factory=dict)
    normalized: dict[str, str] = field(default_factory=dict)
    items: list[KvItem] = field(default_factory=list)
    lines: list[tuple[float, float, str, bool, float]] = field(default_factory=list)


def _lang(language: str) -> dict:
    return _L["vi" if language == "vi_plain" else language]


def _amount(value: Decimal, language: str, style: int) -> str:
    q = value.quantize(Decimal("1") if language.startswith("vi") else Decimal("0.01"), ROUND_HALF_UP)
    whole, _, frac = f"{q:f}".partition(".")
    groups = f"{int(whole):,}"
    if language.startswith("vi"):
        return groups.replace(",", ".")
    if language == "en":
        return f"{groups}.{frac}"
    if language in ("fr", "pl") and style % 2 == 0:
        return groups.replace(",", "\u202f" if style % 4 == 0 else " ") + "," + frac
    return groups.replace(",", ".") + "," + frac


def _date(d: date, language: str, style: int) -> str:
    if language.startswith("vi"):
        return (f"{d.day:02d}/{d.month:02d}/{d.year}" if style % 2 else
                f"Ngày {d.day:02d} tháng {d.month:02d} năm {d.year}")
    if language == "en":
        return [f"{_MONTHS['en'][d.month - 1]} {d.day}, {d.year}", f"{d.day} {_MONTHS['en'][d.month - 1][:3]} {d.year}",
                d.isoformat(), f"{d.day:02d}-{_MONTHS['en'][d.month - 1][:3]}-{d.year}"][style % 4]
    numeric = {"de": ".", "pl": ".", "nl": "-"}.get(language, "/")
    if style % 3 == 0:
        month = _MONTHS[language][d.month - 1]
        return {"de": f"{d.day}. {month} {d.year}", "es": f"{d.day} de {month} de {d.year}"}.get(
            language, f"{d.day} {month} {d.year}")
    return f"{d.day:02d}{numeric}{d.month:02d}{numeric}{d.year}"


def _party(rng: random.Random, language: str, lang: dict) -> tuple[str, str, str]:
    """(name, address, tax id) of a company."""
    base = rng.choice(_NAME_PARTS) + rng.choice(["", " " + rng.choice(_NAME_PARTS)])
    if language.startswith("vi"):
        name = f"{rng.choice(lang['legal'])} {rng.choice(_TRADES['vi'])} {base.upper()}"
        tax = f"0{rng.randrange(100_000_000, 999_999_999)}" + (f"-{rng.randrange(1, 20):03d}" if rng.random() < .2
                                                                else "")
    else:
        name = f"{base} {rng.choice(_TRADES[language])} {rng.choice(lang['legal'])}"
        country = lang["country"]
        digits = {"GB": 9, "FR": 11, "DE": 9, "NL": 9, "ES": 8, "IT": 11, "PL": 10}[country]
        body = str(rng.randrange(10 ** (digits - 1), 10 ** digits))
        tax = {"NL": f"NL{body}B01", "ES": f"ESB{body}", "PL": body if rng.random() < .5 else f"PL{body}"}.get(
            country, f"{country}{body}")
    address = _STREETS[language[:2] if language != "vi_plain" else "vi"].format(n=rng.randrange(1, 200))
    return name, address, tax


def make_kv_document(seed: int, index: int, language: str | None = None, layout: str | None = None,
                     kind: str | None = None) -> KvDocument:
    """Document ``index`` of ``seed`` (language, layout and kind drawn unless given)."""
    rng = random.Random(seed * 1_000_003 + index)
    language = language or rng.choice(LANGUAGES)
    layout = layout or rng.choice(LAYOUTS if language.startswith("vi") else LAYOUTS[:4])
    kind = kind or ("purchase_order" if rng.random() < 0.25 else "invoice")
    lang = _lang(language)
    style = rng.randrange(12)
    doc = KvDocument(seed, index, language, layout, kind)
    p = (lambda s: _plain(s)) if language == "vi_plain" else (lambda s: s)
    pick = lambda key: p(rng.choice(lang[key]))  # noqa: E731

    seller, seller_addr, seller_tax = _party(rng, language, lang)
    buyer, buyer_addr, buyer_tax = _party(rng, language, lang)
    seller, seller_addr, buyer, buyer_addr = p(seller), p(seller_addr), p(buyer), p(buyer_addr)
    issued = date(2023, 1, 1) + timedelta(days=rng.randrange(900))
    due = issued + timedelta(days=rng.choice([14, 30, 45]))
    if language.startswith("vi"):
        number = f"{rng.randrange(1, 9_999_999):07d}"
    else:
        number = rng.choice([str(rng.randrange(100_000, 999_999)), f"INV-{issued.year}-{rng.randrange(1, 9999):04d}",
                             f"{issued.year}/{rng.randrange(1, 999):03d}", f"RE{rng.randrange(10_000, 99_999)}",
                             f"F{issued.year % 100}-{rng.randrange(100, 9999)}"])
    goods = _GOODS[language[:2] if language != "vi_plain" else "vi"]
    for _ in range(rng.randint(1, 6)):
        qty = Decimal(rng.randint(1, 20))
        price = (Decimal(rng.randrange(10, 500) * 1000) if language.startswith("vi")
                 else Decimal(rng.randrange(150, 90_000)) / 100)
        doc.items.append(KvItem(p(rng.choice(goods)), qty, price, qty * price))
    subtotal = sum((i.amount for i in doc.items), Decimal(0))
    rate = Decimal(lang["tax_pct"])
    tax = (subtotal * rate / 100).quantize(Decimal("1") if language.startswith("vi") else Decimal("0.01"),
                                           ROUND_HALF_UP)
    total = subtotal + tax
    money = lambda v: _amount(v, language, style)  # noqa: E731
    currency = {"vi": "VND", "en": "GBP", "pl": "PLN"}.get(language[:2], "EUR")
    date_text = _date(issued, language, style)
    if language == "vi_plain":
        date_text = _plain(date_text)
    number_key = "order_number" if kind == "purchase_order" else "invoice_number"
    seller_key = "supplier" if kind == "purchase_order" else "seller"
    doc.truth = {number_key: number, "date": date_text, seller_key: seller, "buyer": buyer,
                 "seller_tax_code": seller_tax, "subtotal": money(subtotal), "tax_amount": money(tax),
                 "total": money(total)}
    doc.normalized = {number_key: number, "date": issued.isoformat(), seller_key: seller, "buyer": buyer,
                      "seller_tax_code": seller_tax, "subtotal": f"{subtotal:f}", "tax_amount": f"{tax:f}",
                      "total": f"{total:f}"}
    if kind == "purchase_order":
        doc.truth.pop("seller_tax_code"), doc.normalized.pop("seller_tax_code")
        doc.truth.pop("subtotal"), doc.normalized.pop("subtotal")
        doc.truth.pop("tax_amount"), doc.normalized.pop("tax_amount")

    title = pick("po_title" if kind == "purchase_order" else "title")
    cap_number = pick("po_number" if kind == "purchase_order" else "number")
    cap_date = pick("po_date" if kind == "purchase_order" else "date")
    cap_seller, cap_buyer, cap_tax = pick("seller"), pick("buyer"), pick("tax_id")
    colon = rng.choice([":", ":", "", " :"])
    add = doc.lines.append
    distract = [(pick("customer_no"), str(rng.randrange(10_000, 99_999))), (pick("due"), _date(due, language, style)),
                (pick("order_ref"), f"{rng.choice(['PO', 'ORD', 'REF'])}-{rng.randrange(1000, 9999)}")]
    if language == "vi_plain":
        distract = [(a, _plain(b)) for a, b in distract]
    head = [(cap_number, number), (cap_date, date_text)] + rng.sample(distract, 2)
    rng.shuffle(head)
    y = 60.0

    def party_block(x: float, y0: float, caption: str | None, name: str, address: str, tax_id: str | None,
                    with_name_caption: bool = False) -> float:
        if caption:
            add((x, y0, caption + colon, True, 10))
            y0 += 16
        add((x, y0, (pick("name") + ": " if with_name_caption else "") + name, False, 10))
        add((x, y0 + 14, address, False, 9))
        y0 += 28
        if tax_id:
            add((x, y0, f"{cap_tax}{colon} {tax_id}", False, 9))
            y0 += 14
        return y0

    if layout == "vn":
        add((150, y, title, True, 15))
        add((400, y + 24, p("Ký hiệu") + f": 1C{issued.year % 100}T" + rng.choice("ABKM") + "A", False, 9))
        add((400, y + 38, f"{p('Số')}: {number}", False, 10))
        add((190, y + 40, date_text if "tháng" in date_text or "thang" in date_text else
             f"{p('Ngày')} {issued.day:02d} {p('tháng')} {issued.month:02d} {p('năm')} {issued.year}", False, 10))
        doc.truth["date"] = doc.lines[-1][2]
        y += 70
        add((40, y, f"{p('Đơn vị bán hàng')}: {seller}", True, 10))
        add((40, y + 14, f"{p('Mã số thuế')}: {seller_tax}", False, 9))
        add((40, y + 28, f"{p('Địa chỉ')}: {seller_addr}", False, 9))
        add((40, y + 42, f"{p('Điện thoại')}: 028 {rng.randrange(3000_0000, 3999_9999)}", False, 9))
        y += 64
        add((40, y, f"{p('Họ tên người mua hàng')}: {p(rng.choice(['Nguyễn Văn An', 'Trần Thị Bình', 'Lê Minh']))}",
             False, 9))
        add((40, y + 14, f"{p('Tên đơn vị')}: {buyer}", False, 9))
        add((40, y + 28, f"{p('Mã số thuế')}: {buyer_tax}", False, 9))
        add((40, y + 42, f"{p('Địa chỉ')}: {buyer_addr}", False, 9))
        add((40, y + 56, f"{p('Hình thức thanh toán')}: TM/CK", False, 9))
        y += 80
    elif layout == "inline":
        joiner = rng.choice([lang["joiner"], lang["joiner"], "/", "-"])
        add((40, y, f"{title} {cap_number} {number} {joiner} {date_text}", True, 13))
        doc.truth["date"] = date_text
        y += 36
        left = party_block(40, y, cap_seller, seller, seller_addr, f"{seller_tax}", with_name_caption=True)
        right = party_block(320, y, cap_buyer, buyer, buyer_addr, None, with_name_caption=True)
        y = max(left, right) + 10
        for k, (cap, val) in enumerate(distract[:2]):
            add((40 + 280 * k, y, f"{cap}{colon} {val}", False, 9))
        y += 30
    else:
        add((40, y, title, True, 16))
        y += 30
        party_top = y
        if rng.random() < 0.5:
            y = party_block(40, y, None, seller, seller_addr, seller_tax)  # letterhead
            seller_captioned = False
        else:
            seller_captioned = True
        if layout == "stacked":
            for k, (cap, val) in enumerate(head):
                add((330, party_top + 14 * k, f"{cap}{colon} {val}", False, 9))
            y = max(y, party_top + 14 * len(head)) + 16
        elif layout == "columns":
            for k, (cap, val) in enumerate(head):
                add((330, party_top + 14 * k, cap + colon, False, 9))
                add((470, party_top + 14 * k, val, False, 9))
            y = max(y, party_top + 14 * len(head)) + 16
        else:  # grid: captions in a row, values below
            xs = [40, 170, 300, 430]
            for k, (cap, val) in enumerate(head):
                add((xs[k], y + 4, cap, True, 8))
                add((xs[k], y + 18, val, False, 9))
            y += 42
        if seller_captioned:
            left = party_block(40, y, cap_seller, seller, seller_addr, seller_tax)
            right = party_block(320, y, cap_buyer, buyer, buyer_addr, None)
            y = max(left, right) + 12
        else:
            y = party_block(40, y, cap_buyer, buyer, buyer_addr, None) + 12
        add((40, y, f"{lang['phone']}: +{rng.randrange(10, 99)} {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}",
             False, 8))
        y += 24

    header = [p(h) for h in lang["header"]]
    cols = [40, 300, 380, 480]
    for k, h in enumerate(header):
        add((cols[k] if k == 0 else cols[k], y, h, True, 9))
    y += 18
    for item in doc.items:
        add((cols[0], y, item.description, False, 9))
        add((cols[1], y, f"{item.quantity}", False, 9))
        add((cols[2], y, money(item.unit_price), False, 9))
        add((cols[3], y, money(item.amount), False, 9))
        y += 15
    y += 12
    totals = [(pick("subtotal"), money(subtotal)), (pick("tax"), money(tax)), (pick("total"), money(total))]
    if kind == "purchase_order" and rng.random() < 0.5:
        totals = totals[2:]
    for cap, val in totals:
        add((330, y, cap + colon, cap == totals[-1][0], 9))
        add((480, y, val + (f" {currency}" if rng.random() < 0.3 else ""), cap == totals[-1][0], 9))
        y += 15
    y += 20
    add((40, y, f"IBAN: {lang['country'] if lang['country'] != 'VN' else 'VN'}{rng.randrange(10, 99)} "
         f"{rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}", False, 8))
    add((40, y + 12, f"{lang['page']} 1/1", False, 8))
    if rng.random() < 0.5:
        # Signature boxes at the foot, captioned with the parties' words ("Người mua hàng" /
        # "Người bán hàng" on Vietnamese invoices): captions whose block holds no name.
        y += 50
        hint = p(_SIGN_HINT[language])
        for x, cap in ((60, pick("buyer")), (360, pick("seller"))):
            add((x, y, cap, True, 9))
            add((x, y + 13, hint, False, 8))
        if layout == "vn" and rng.random() < 0.5:
            add((360, y + 40, p("Ký bởi") + f": {seller}", False, 8))
    return doc


_SIGN_HINT = {"vi": "(Ký, ghi rõ họ tên)", "vi_plain": "(Ký, ghi rõ họ tên)", "en": "(signature)",
              "fr": "(signature et cachet)", "de": "(Unterschrift)", "nl": "(handtekening)", "es": "(firma)",
              "it": "(firma)", "pl": "(podpis)"}


def render_kv_pdf(doc: KvDocument) -> bytes:
    """A born-digital one-page PDF of ``doc`` (a text layer; DejaVu fonts)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    for name, path in (("DejaVu", SANS), ("DejaVu-Bold", SANS_BOLD)):
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(path)))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    height = A4[1]
    for x, y, text, bold, size in doc.lines:
        c.setFont("DejaVu-Bold" if bold else "DejaVu", size)
        c.drawString(x, height - y, text)
    c.showPage()
    c.save()
    return buf.getvalue()
