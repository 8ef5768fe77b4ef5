"""Legacy prompts read for what they ask (English and Vietnamese)."""

from __future__ import annotations

import pytest

from app.grpc.legacy import info_for, legacy_output, phrase_key
from app.grpc.prompt import PromptAsk, parse_prompt


@pytest.mark.parametrize("prompt", [
    "Extract all fields into a structured JSON.",
    "Extract every field as JSON",
    "Trích xuất tất cả thông tin dạng JSON",
    "Lấy toàn bộ thông tin",
    "Extract to JSON",
    "OCR this invoice",
    "Extract data",
    "",
])
def test_all_fields(prompt):
    assert parse_prompt(prompt) == PromptAsk(True)


@pytest.mark.parametrize("prompt, phrases", [
    ("Extract total and date", ("total", "date")),
    ("Extract the invoice number, total amount and date as JSON", ("invoice number", "total amount", "date")),
    ("Get ID number and full name", ("id number", "full name")),
    ("Lấy số hóa đơn, ngày và tổng tiền trong hóa đơn này", ("so hoa don", "ngay", "tong tien")),
    ("Trích xuất số CCCD, họ và tên, ngày, tháng, năm sinh", ("so cccd", "ho ten", "ngay thang nam sinh")),
    ("What is the total?", ("total",)),
    ("Extract the seller tax code and the buyer from this invoice", ("seller tax code", "buyer")),
    ("Extract the following fields from this invoice: invoice number, invoice date, vendor name, total amount. "
     "Return JSON.", ("invoice number", "invoice date", "vendor name", "total amount")),
    ("Trích xuất các trường sau: số hóa đơn, ngày hóa đơn, mã số thuế, tổng tiền. Trả về JSON.",
     ("so hoa don", "ngay hoa don", "ma so thue", "tong tien")),
    ("Please extract invoice_number and amount_total as JSON", ("invoice number", "amount total")),
])
def test_named_fields(prompt, phrases):
    assert parse_prompt(prompt) == PromptAsk(False, phrases)


def test_info_keys():
    assert phrase_key("so hoa don") == "so_hoa_don"
    assert info_for(PromptAsk(True)) is None
    assert info_for(PromptAsk(False, ("total", "ngay sinh"))) == {"total": "total", "ngay_sinh": "ngay sinh"}


def test_output_uses_known_field_keys():
    from app.domain import DocumentResult, FieldResult

    def mapped(name):
        return FieldResult(None, None, 0.0, None, matched_field=name, mapped=True)

    result = DocumentResult(
        "a.png", "extract", (), {}, document_type="invoice",
        values={"so_hoa_don": "0000123", "tong_tien": None, "total": "9.00", "bank": "x"},
        fields={"so_hoa_don": mapped("invoice_number"), "tong_tien": mapped("total"), "total": mapped("total"),
                "bank": mapped(None)})
    assert legacy_output(result) == {"invoice_number": "0000123", "total": "9.00", "bank": "x",
                                     "document_type": "invoice"}
