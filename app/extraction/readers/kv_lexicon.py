"""Captions of invoice and order header fields in nine languages (the key–value reader's vocabulary).

Roles (not field keys: :data:`ROLE_FIELDS` maps them per document type):
``number`` (a document number; ``invoice_number`` and ``order_number`` captions
name one kind's number and are read through :data:`ROLE_ALIASES`), ``date`` (issue or order date), ``delivery_date``,
``seller``, ``buyer`` (party blocks), ``tax_id`` (the seller's VAT / tax
identifier), ``subtotal``, ``tax``, ``total``, and ``other``: captions of values
that must not be taken for a field (due dates, customer numbers, references,
bank details, contact lines, table column captions). A caption of ``other`` ends
the value of the caption before it on the same line.

Languages: Vietnamese (with tone marks; folding also covers text printed without
them), English, French, German, Dutch, Spanish, Italian, Polish. Written as
printed; folded (:func:`app.extraction.normalize.fold`: lower case, no
diacritics) once at import. ``WEAK`` captions are common words ("date", "no.",
"total", "vom", "du") that only count when a value of the right type follows.

Sources: the languages' invoice terms as used by EN 16931 / Factur-X / XRechnung
invoice templates and the Vietnamese e-invoice form (Circular 78/2021/TT-BTC,
Decree 123/2020/ND-CP) — the vocabulary, not any sample document.
"""

from __future__ import annotations

from app.extraction.line_items import COLUMN_CAPTIONS
from app.extraction.normalize import fold

_CAPTIONS: dict[str, tuple[str, ...]] = {
    # Captions of a document number on any document.
    "number": (
        "số", "no.", "nr.", "nº", "n°", "#", "document no", "numero documento", "belegnummer", "beleg-nr",
    ),
    # ... of an invoice's number: on an order they name a referenced invoice (``other``).
    "invoice_number": (
        "số hóa đơn", "số hđ", "hóa đơn số",
        "invoice no", "invoice number", "invoice #", "invoice nr", "inv. no", "inv no", "bill no",
        "facture n°", "facture no", "n° de facture", "numéro de facture", "no de facture", "n° facture",
        "rechnungsnummer", "rechnungs-nr", "rechnung nr", "rechnungsnr",
        "factuurnummer", "factuur nr", "factuurnr",
        "número de factura", "factura n.º", "factura nº", "factura no", "nº factura", "n.º factura", "num. factura",
        "numero fattura", "fattura n", "n. fattura", "fattura nr",
        "numer faktury", "faktura vat nr", "faktura nr", "nr faktury",
        # the document's own name, a caption when a number follows it ("Invoice INV/2023/03/0008")
        "invoice", "tax invoice", "hóa đơn", "rechnung", "facture", "factuur", "factura", "fattura", "faktura",
    ),
    # ... of an order's number: on an invoice they name the order it bills (``other``).
    "order_number": (
        "số đơn đặt hàng", "số đơn hàng", "số po", "po number", "po no", "po #", "purchase order no",
        "purchase order number", "order no", "order number", "order #", "sales order no",
        "bestellnummer", "bestell-nr", "auftragsnummer", "auftrags-nr", "n° de commande", "numéro de commande",
        "commande n°", "ordernummer", "bestelnummer", "número de pedido", "pedido n.º", "pedido nº",
        "numero ordine", "ordine n", "numer zamówienia", "zamówienie nr",
        "purchase order", "đơn đặt hàng", "bestellung", "bon de commande", "bestelling", "pedido", "ordine",
        "zamówienie",
    ),
    # The date of the invoice, and of the order, by name: each is the document's own date on its
    # kind and a reference on the other (an invoice names the order it bills, and its date), as
    # the two kinds' numbers are (ROLE_ALIASES).
    "invoice_date": (
        "ngày hóa đơn", "invoice date", "date de facture", "rechnungsdatum", "factuurdatum", "fecha de factura",
        "data fattura", "data faktury",
    ),
    "order_date": (
        "ngày đặt hàng", "order date", "date de commande", "bestelldatum", "orderdatum", "fecha de pedido",
        "data ordine", "data zamówienia",
    ),
    "date": (
        "ngày lập", "ngày",
        "date of issue", "issue date", "date", "dated", "document date",
        "date d'émission", "du",
        "datum", "belegdatum", "vom",
        "fecha", "fecha de emisión",
        "data", "data documento",
        "data wystawienia",
        # between a number and its date: "Factuur 123 van 5 mei 2025", "Fattura n. 7 del 05/06/2025"
        "van", "d.d.", "del", "de fecha", "z dnia", "of",
    ),
    "delivery_date": (
        "ngày giao hàng", "delivery date", "ship date", "lieferdatum", "liefertermin", "date de livraison",
        "leverdatum", "fecha de entrega", "data consegna", "data dostawy",
    ),
    "seller": (
        "đơn vị bán hàng", "đơn vị bán", "người bán", "người bán hàng", "bên bán", "nhà cung cấp",
        "seller", "vendor", "supplier", "service provider", "sold by", "from", "issued by", "bill from",
        "verkäufer", "lieferant", "rechnungssteller", "leistungserbringer", "absender",
        "fournisseur", "vendeur", "émetteur",
        "leverancier", "verkoper",
        "proveedor", "vendedor", "emisor",
        "fornitore", "cedente", "venditore", "cedente/prestatore", "mittente", "prestatore",
        "sprzedawca", "dostawca",
    ),
    "buyer": (
        "người mua hàng", "người mua", "đơn vị mua hàng", "bên mua", "khách hàng", "tên đơn vị",
        "buyer", "bill to", "billed to", "invoice to", "sold to", "customer", "client", "bill to address",
        "invoiced to", "billing address", "invoice address",
        "käufer", "kunde", "rechnungsempfänger", "auftraggeber", "rechnungsadresse", "empfänger",
        "acheteur", "facturé à", "destinataire", "adresse de facturation",
        "koper", "klant", "factuuradres", "factuur aan", "gefactureerd aan",
        "comprador", "cliente", "facturar a", "datos del cliente", "facturado a",
        "cessionario", "committente", "cessionario/committente", "destinatario", "intestatario", "intestato a",
        "nabywca", "odbiorca",
    ),
    "tax_id": (
        "mã số thuế", "mst",
        "tax code", "tax id", "tax no", "vat no", "vat number", "vat reg. no", "vat reg no", "vat id",
        "vat registration no", "gst no", "gst reg no", "gstin", "tin",
        "ust-idnr", "ust-id", "ust-id-nr", "ustid", "steuernummer", "st.-nr", "umsatzsteuer-id",
        "n° tva", "numéro de tva", "tva intracommunautaire", "n° tva intracom", "siren",
        "btw-nummer", "btw nr", "btw-id", "btw nummer",
        "nif", "cif", "nif/cif",
        "partita iva", "p. iva", "p.iva", "codice fiscale",
        "nip",
    ),
    "subtotal": (
        "cộng tiền hàng", "tổng tiền hàng", "tiền hàng", "tổng tiền trước thuế", "thành tiền trước thuế",
        "tiền trước thuế", "cộng tiền hàng hóa, dịch vụ", "giá trị trước thuế",
        "subtotal", "sub total", "sub-total", "net amount", "total net", "net total", "total excl. vat",
        "total excluding vat", "amount before tax", "total before tax",
        "total ht", "montant ht", "total hors taxes", "sous-total", "sous total",
        "nettobetrag", "summe netto", "zwischensumme", "netto", "gesamt netto", "nettosumme",
        "subtotaal", "totaal excl. btw", "netto bedrag", "totaal excl btw",
        "base imponible", "importe neto",
        "imponibile", "totale imponibile",
        "wartość netto", "razem netto", "suma netto",
        # "excluding / including tax" as a caption of its own
        "excl. vat", "excl vat", "excluding vat", "excl. tax", "exclusief btw", "excl. btw", "excl btw",
        "exkl. mwst", "netto ohne mwst", "hors taxes", "hors tva", "sin iva", "iva esclusa",
    ),
    "tax": (
        "tiền thuế gtgt", "thuế gtgt", "tiền thuế",
        "vat", "vat amount", "tax", "tax amount", "sales tax", "gst", "total vat", "total tax",
        "tva", "montant tva", "total tva",
        "mwst", "mwst.", "mehrwertsteuer", "ust", "ust.", "umsatzsteuer",
        "btw", "btw bedrag",
        "iva", "cuota iva", "importe iva",
        "imposta", "totale iva",
        "podatek vat", "kwota vat",
    ),
    "total": (
        "tổng cộng tiền thanh toán", "tổng tiền thanh toán", "tổng cộng", "tổng thanh toán", "tổng tiền",
        "total", "grand total", "total due", "somme à payer", "montant à payer", "amount due", "balance due", "total amount", "invoice total",
        "total amount due", "amount payable", "total payable", "total incl. vat",
        "total ttc", "montant ttc", "net à payer", "total à payer", "montant total",
        "gesamtbetrag", "gesamtsumme", "rechnungsbetrag", "endbetrag", "zu zahlen", "bruttobetrag",
        "summe brutto", "zahlbetrag", "summe",
        "totaal", "te betalen", "totaal incl. btw", "totaal incl btw", "totaalbedrag",
        "total factura", "importe total", "total a pagar",
        "totale", "totale documento", "totale fattura", "da pagare", "totale da pagare",
        "do zapłaty", "razem brutto", "wartość brutto", "razem", "suma brutto",
        "incl. vat", "including vat", "inclusief btw", "incl. btw", "incl btw", "inkl. mwst", "toutes taxes comprises",
        "iva incluida", "iva inclusa",
    ),
    "other": (
        # dates and numbers that are not the field
        "hạn thanh toán", "due date", "payment due", "due", "date due", "fällig am", "zahlbar bis",
        "fälligkeitsdatum", "fällig", "date d'échéance", "échéance", "vervaldatum", "betalen voor",
        "fecha de vencimiento", "vencimiento", "scadenza", "data scadenza", "termin płatności",
        "date limite de paiement", "date limite", "payable avant", "à régler avant", "prélèvement", "pay by",
        "betaaldatum", "uiterste betaaldatum", "fecha límite", "pagare entro",
        "leistungsdatum", "service period", "period",
        "mã khách hàng", "customer no", "customer number", "account no", "account number", "customer id",
        "kundennummer", "kunden-nr", "n° client", "code client", "klantnummer", "nº cliente", "código cliente",
        "codice cliente", "nr klienta",
        "your reference", "po reference", "reference", "ihre bestellung", "auftrag", "votre référence",
        "réf. commande", "uw referentie", "su referencia", "vs. riferimento", "số hợp đồng", "contract no",
        "ký hiệu", "mẫu số", "ký hiệu mẫu số",
        # bank and contact lines
        "customer care", "customer service", "kundenservice", "service client", "atención al cliente",
        "servizio clienti", "klantenservice", "chăm sóc khách hàng",
        "iban", "bic", "swift", "bank", "account", "số tài khoản", "tài khoản", "konto", "blz",
        "phone", "tel", "tel.", "tél.", "fax", "email", "e-mail", "website", "www", "điện thoại", "đt",
        "page", "seite", "pagina", "página", "strona", "trang",
        "địa chỉ", "address", "adresse", "anschrift", "adres", "dirección", "indirizzo", "adres",
        "hình thức thanh toán", "payment method", "payment terms", "zahlungsbedingungen",
        "họ tên người mua hàng",
        "name", "nom", "naam", "nombre", "nome", "nazwa", "firma", "raison sociale", "razón social",
        "ragione sociale", "họ tên",
    ),
}

#: Common words that are captions only when a value of the right type follows on the line.
WEAK = frozenset(fold(p) for p in (
    "số", "ngày", "no.", "nr.", "nº", "n°", "#", "date", "data", "datum", "fecha", "du", "vom", "from", "van",
    "d.d.", "del", "de fecha", "z dnia", "of",
    "total", "totale", "totaal", "summe", "razem", "tổng tiền", "tax", "vat", "tva", "btw", "iva", "ust",
    "ust.", "mwst", "mwst.", "gst", "netto", "client", "cliente", "kunde", "klant", "customer", "tin", "nif",
    "cif", "nip", "mst", "tiền hàng", "tiền thuế",
    "invoice", "tax invoice", "hóa đơn", "rechnung", "facture", "factuur", "factura", "fattura", "faktura",
    "purchase order", "đơn đặt hàng", "bestellung", "bon de commande", "bestelling", "pedido", "ordine",
    "zamówienie",
))

#: Per document type: lexicon role -> the role it is read as (number captions of the
#: other kind of document name a reference, not the document's own number).
ROLE_ALIASES: dict[str, dict[str, str]] = {
    "invoice": {"invoice_number": "number", "order_number": "other", "invoice_date": "date", "order_date": "other"},
    "purchase_order": {"order_number": "number", "invoice_number": "other", "invoice_date": "other",
                       "order_date": "date"},
    "sales_order": {"order_number": "number", "invoice_number": "other", "invoice_date": "other",
                    "order_date": "date"},
}
#: Roles whose captions name the document's own kind (the ``specific`` feature).
SPECIFIC_ROLES = frozenset({"invoice_number", "order_number"})
#: The named dates' roles read as a date whatever the document's kind (a name line's caption).
ANY_DATE = {"invoice_date": "date", "order_date": "date"}

#: Role -> field key, per document type (roles a type has no field for are read as ``other``).
ROLE_FIELDS: dict[str, dict[str, str]] = {
    "invoice": {"number": "invoice_number", "date": "date", "seller": "seller", "buyer": "buyer",
                "tax_id": "seller_tax_code", "subtotal": "subtotal", "tax": "tax_amount", "total": "total"},
    "purchase_order": {"number": "order_number", "date": "date", "seller": "supplier", "buyer": "buyer",
                       "delivery_date": "delivery_date", "total": "total"},
    "sales_order": {"number": "order_number", "date": "date", "seller": "seller", "buyer": "customer",
                    "total": "total"},
}

#: Words of a company's legal form: a line holding one is name-like (letterheads).
LEGAL_FORMS = tuple(fold(p) for p in (
    "công ty", "tnhh", "cổ phần", "doanh nghiệp", "ltd", "limited", "inc", "llc", "corp", "corporation", "plc",
    "gmbh", "ag", "kg", "ohg", "e.k.", "ug", "sarl", "sas", "sa", "eurl", "b.v.", "bv", "n.v.", "s.l.", "s.a.",
    "s.r.l.", "srl", "s.p.a.", "spa", "sp. z o.o.", "sp. j.", "co.", "company", "group", "services",
    "s.l.u.", "s.l.l.", "s.coop.", "v.o.f.", "vof", "s.n.c.", "snc", "s.a.s.", "s.c.r.l.", "oy", "ab", "a/s", "aps",
))


def _table_captions() -> tuple[str, ...]:
    return tuple(c for captions in COLUMN_CAPTIONS.values() for c in captions if len(c) > 3)


#: Folded caption -> role, longest captions first (so "invoice date" wins over "date").
CAPTIONS: dict[str, str] = {}
for _role, _phrases in _CAPTIONS.items():
    for _phrase in _phrases:
        CAPTIONS.setdefault(fold(_phrase), _role)
#: Captions that are only a table's column captions ("services", "description"): inside a line, after
#: a word, they are part of a name ("Amazon Web Services, Inc."), not a caption.
COLUMN_ONLY: frozenset[str] = frozenset(p for p in _table_captions() if p not in CAPTIONS)
for _phrase in _table_captions():
    CAPTIONS.setdefault(_phrase, "other")
CAPTIONS = dict(sorted(CAPTIONS.items(), key=lambda kv: -len(kv[0])))
