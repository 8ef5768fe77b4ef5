"""Document types: named field specifications a caller selects with
``config.document_type`` instead of (or merged with) ``config.info``.

Each field has a key, a Vietnamese and an English description (the LLM is
asked with them), a kind that decides normalisation and validation (``text``,
``date``, ``amount``, ``id_number``, ``enum``), and the printed captions
("anchors") that label it on the document, used by the rule reader.
Anchors are written lower-case without diacritics (matching is done on
folded text, see :func:`app.extraction.rules.fold`).
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("text", "date", "amount", "id_number", "enum")
#: Fields holding a document's number (invoice, order): one token with a digit, read by
#: :meth:`app.extraction.rules.RuleReader._number_in` and validated by it in ``fields``.
DOCUMENT_NUMBER_KEYS = ("invoice_number", "order_number")


@dataclass(frozen=True)
class FieldSpec:
    """One field of a document type.

    Attributes:
        key: JSON key in the response.
        description_vi, description_en: what the field is, for the LLM prompt.
        kind: one of :data:`KINDS`.
        anchors: printed captions that precede the value (folded form).
        choices: allowed values for ``enum`` fields (normalised forms).
        multiline: the value may continue on the following lines (addresses).
        free: a caller-defined field (``config.info``) whose kind is unknown.
        lexicon: the marked-phrase lexicon whose tone marks a value read by
            OCR takes (:mod:`app.extraction.gazetteer`): ``"places"`` for a
            Vietnamese address or shop name (place names from the
            administrative-division list, shop-type phrases),
            ``"identifying_marks"`` for the card's identifying marks
            (``Nốt ruồi``, ``Sẹo chấm``, ``cánh mũi``, ...); None: kept as read.
    """

    key: str
    description_vi: str
    description_en: str
    kind: str = "text"
    anchors: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    multiline: bool = False
    free: bool = False
    lexicon: str | None = None

    def description(self) -> str:
        """Bilingual description used in prompts."""
        return f"{self.description_en} ({self.description_vi})"


@dataclass(frozen=True)
class DocumentType:
    """A named set of fields and the deterministic readers that apply to it.

    Attributes:
        name: value of ``config.document_type``.
        fields: the fields, in response order.
        readers: deterministic readers run before the LLM: ``qr`` (CCCD
            front QR code), ``mrz`` (ICAO 9303 TD1 zone), ``keyvalue`` (the
            multilingual key–value reader of invoices and orders,
            :mod:`app.extraction.readers.keyvalue`; with ``rules`` beside it the
            rules only fill the fields it left), ``rules`` (patterns and caption
            anchors).
    """

    name: str
    fields: tuple[FieldSpec, ...]
    readers: tuple[str, ...] = ("rules",)

    def spec(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)

    def keys(self) -> list[str]:
        return [f.key for f in self.fields]


_ID = FieldSpec("id_number", "Số căn cước công dân (12 chữ số)", "citizen ID number (12 digits)", "id_number",
                anchors=("so / no", "so/no", "so:", "so ", "no.:", "no:"))
_NAME = FieldSpec("full_name", "Họ và tên", "full name", anchors=("ho va ten / full name", "ho va ten", "full name",
                                                                   "ho, chu dem va ten khai sinh", "ho ten"))
_DOB = FieldSpec("date_of_birth", "Ngày sinh", "date of birth", "date",
                 anchors=("ngay, thang, nam sinh", "ngay sinh / date of birth", "ngay sinh", "date of birth"))
_SEX = FieldSpec("sex", "Giới tính (Nam/Nữ)", "sex (M/F)", "enum", anchors=("gioi tinh / sex", "gioi tinh", "sex"),
                 choices=("M", "F"))
_EXPIRY = FieldSpec("date_of_expiry", "Có giá trị đến", "date of expiry", "date",
                    anchors=("co gia tri den / date of expiry", "co gia tri den", "date of expiry", "gia tri den"))
_NATIONALITY = FieldSpec("nationality", "Quốc tịch", "nationality",
                         anchors=("quoc tich / nationality", "quoc tich", "nationality"))

#: Invoices and orders: the key–value reader first, the caption rules for what it leaves
#: (measured with bench/invoice_eval.py: docs/documents.md "Key–value reader").
_KV_READERS = ("keyvalue", "rules")

DOCUMENT_TYPES: dict[str, DocumentType] = {
    "cccd_front": DocumentType("cccd_front", (
        _ID, _NAME, _DOB, _SEX, _NATIONALITY,
        FieldSpec("place_of_origin", "Quê quán", "place of origin",
                  anchors=("que quan / place of origin", "que quan", "place of origin"), multiline=True,
                  lexicon="places"),
        FieldSpec("place_of_residence", "Nơi thường trú", "place of residence",
                  anchors=("noi thuong tru / place of residence", "noi thuong tru", "place of residence",
                           "noi cu tru"), multiline=True, lexicon="places"),
        _EXPIRY,
    ), readers=("qr", "rules")),
    "cccd_back": DocumentType("cccd_back", (
        _ID, _NAME, _DOB, _SEX, _NATIONALITY, _EXPIRY,
        FieldSpec("date_of_issue", "Ngày cấp", "date of issue", "date",
                  anchors=("ngay, thang, nam / date, month, year", "ngay, thang, nam", "date, month, year",
                           "ngay cap")),
        FieldSpec("personal_identification", "Đặc điểm nhân dạng", "personal identification marks",
                  anchors=("dac diem nhan dang / personal identification", "dac diem nhan dang",
                           "personal identification"), lexicon="identifying_marks"),
    ), readers=("mrz", "rules")),
    "receipt": DocumentType("receipt", (
        FieldSpec("seller", "Tên cửa hàng / đơn vị bán", "name of the shop or company that issued the receipt",
                  lexicon="places"),
        FieldSpec("address", "Địa chỉ cửa hàng", "address of the shop", anchors=("dia chi", "dc", "address"),
                  multiline=True, lexicon="places"),
        FieldSpec("date", "Ngày bán / ngày in hóa đơn", "date of the receipt", "date",
                  anchors=("ngay ban", "ngay", "thoi gian", "date", "time")),
        FieldSpec("total", "Tổng tiền thanh toán", "total amount paid", "amount",
                  anchors=("tong tien", "tong cong", "tong thanh toan", "tong so thanh toan", "thanh toan",
                           "total")),
    )),
    "invoice": DocumentType("invoice", (
        FieldSpec("seller", "Đơn vị bán hàng", "seller (issuer) name", anchors=("don vi ban hang", "seller")),
        FieldSpec("seller_tax_code", "Mã số thuế người bán", "seller tax code", "id_number",
                  anchors=("ma so thue", "mst", "tax code", "vat no", "tax id", "nip")),
        FieldSpec("buyer", "Đơn vị mua hàng / người mua", "buyer name",
                  anchors=("don vi mua hang", "ten don vi", "nguoi mua hang", "buyer", "bill to", "customer")),
        FieldSpec("invoice_number", "Số hóa đơn", "invoice number",
                  anchors=("so hoa don", "so:", "invoice no", "invoice number", "invoice #", "invoice",
                           # French, Dutch, German, Polish
                           "facture n", "numero de facture", "factuurnummer", "factuur nr", "rechnungsnummer",
                           "rechnungsnr", "rechnung nr", "faktura vat nr", "faktura nr", "facture", "factuur",
                           "rechnung", "faktura")),
        FieldSpec("date", "Ngày lập hóa đơn", "invoice date", "date",
                  anchors=("ngay", "invoice date", "date of issue", "date", "date de facture", "factuurdatum",
                           "factuur datum", "rechnungsdatum", "data wystawienia", "datum")),
        FieldSpec("subtotal", "Cộng tiền hàng (chưa thuế)", "amount before tax", "amount",
                  anchors=("cong tien hang", "subtotal", "sub total", "net amount", "total net")),
        FieldSpec("tax_amount", "Tiền thuế GTGT", "tax (VAT) amount", "amount",
                  anchors=("tien thue gtgt", "thue gtgt", "vat", "tax")),
        FieldSpec("total", "Tổng cộng tiền thanh toán", "total amount due", "amount",
                  anchors=("tong cong tien thanh toan", "tong tien thanh toan", "tong cong", "total due",
                           "amount due", "grand total", "total")),
    ), readers=_KV_READERS),
    "purchase_order": DocumentType("purchase_order", (
        FieldSpec("order_number", "Số đơn đặt hàng", "purchase order number",
                  anchors=("so don dat hang", "so po", "po number", "po no", "purchase order no", "order no")),
        FieldSpec("date", "Ngày đặt hàng", "order date", "date", anchors=("ngay dat hang", "ngay", "order date",
                                                                         "date")),
        FieldSpec("buyer", "Bên mua", "buyer (ordering company)", anchors=("ben mua", "buyer", "bill to")),
        FieldSpec("supplier", "Nhà cung cấp", "supplier (vendor)", anchors=("nha cung cap", "ben ban", "supplier",
                                                                            "vendor")),
        FieldSpec("delivery_date", "Ngày giao hàng", "delivery date", "date",
                  anchors=("ngay giao hang", "delivery date", "ship date")),
        FieldSpec("total", "Tổng giá trị đơn hàng", "order total", "amount",
                  anchors=("tong cong", "tong gia tri", "total amount", "grand total", "total")),
    ), readers=_KV_READERS),
    "sales_order": DocumentType("sales_order", (
        FieldSpec("order_number", "Số đơn bán hàng", "sales order number",
                  anchors=("so don hang", "so don ban hang", "so number", "sales order no", "order no")),
        FieldSpec("date", "Ngày đơn hàng", "order date", "date", anchors=("ngay", "order date", "date")),
        FieldSpec("customer", "Khách hàng", "customer name", anchors=("khach hang", "customer", "sold to",
                                                                      "bill to")),
        FieldSpec("seller", "Bên bán", "seller (issuing company)", anchors=("ben ban", "seller")),
        FieldSpec("total", "Tổng tiền", "order total", "amount", anchors=("tong tien", "tong cong", "grand total",
                                                                          "total")),
    ), readers=_KV_READERS),
}


def resolve_fields(document_type: str | None, info: dict[str, str] | None) -> tuple[DocumentType | None,
                                                                                      list[FieldSpec]]:
    """The fields of a request: the document type's, merged with ``info``.

    ``info`` entries override the description of a document-type field with the
    same key (the caller's words go to the LLM) and add free-text fields.

    Raises:
        KeyError: unknown document type (the API validates this first).
    """
    doc = DOCUMENT_TYPES[document_type] if document_type else None
    specs: list[FieldSpec] = list(doc.fields) if doc else []
    for key, desc in (info or {}).items():
        existing = next((i for i, s in enumerate(specs) if s.key == key), None)
        if existing is None:
            specs.append(FieldSpec(key, desc, desc, free=True))
        else:
            old = specs[existing]
            specs[existing] = FieldSpec(old.key, desc, desc, old.kind, old.anchors, old.choices, old.multiline)
    return doc, specs
