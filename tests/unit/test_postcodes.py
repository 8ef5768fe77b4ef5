"""Malaysian postcode / post town repair (app/extraction/postcodes.py), on a table built in the test
and on the packaged table where it is installed."""

import pytest

from app.extraction.postcodes import PostcodeTable, fix_postcode_town, postcode_table

TABLE = PostcodeTable([("48000", "Rawang"), ("40300", "Shah Alam"), ("43800", "Dengkil"), ("43600", "Bangi"),
                       ("53300", "Setapak"), ("53100", "Kuala Lumpur"), ("81750", "Masai"), ("12345", "")])


@pytest.mark.parametrize("read,fixed", [
    # a town one edit off its postcode's locality, and the same misread word elsewhere in the address
    ("NO 15 JALAN BANDAR KAWANG 10 BANDAR BARU KAWANG 48000 KAWANG, SELANGOR",
     "NO 15 JALAN BANDAR RAWANG 10 BANDAR BARU RAWANG 48000 RAWANG, SELANGOR"),
    ("Lot 3, Jalan Pelabur 23/1, 40300 Shah Alamn, Selangor.", "Lot 3, Jalan Pelabur 23/1, 40300 Shah Alam, Selangor."),
    ("JALAN PERMAS 17, 81750,KASAI", "JALAN PERMAS 17, 81750,MASAI"),
    # a postcode not in the table, one digit from the only postcode of the printed town
    ("JALAN AIR HITAM 43801 DENGKIL, SELANGOR", "JALAN AIR HITAM 43800 DENGKIL, SELANGOR"),
])
def test_misread_towns_and_postcodes_are_repaired(read, fixed):
    assert fix_postcode_town(read, TABLE) == fixed


@pytest.mark.parametrize("text", [
    "NO.1, JALAN AIR HITAM 43600 DENGKIL, SELANGOR",  # a real postcode with another town: left as printed
    "19-1, JALAN MALINJA 2, 53100 SETAPAK, KUALA LUMPUR",  # a suburb's name with the post town's postcode
    "B-8, JALAN SS15/4D, 47500 SUBANG JAYA, SELANGOR",  # a postcode the table does not know, no near town
    "40300 SHAH ALAM",  # already right
    "NO 5 JALAN MAWAR 40300 KLANG",  # too far from the locality: not a misreading
    "TEL 03-12345 678",  # no town after the digits
])
def test_what_is_not_certain_is_left_as_read(text):
    assert fix_postcode_town(text, TABLE) == text


def test_without_a_table_the_address_is_unchanged():
    assert fix_postcode_town("48000 KAWANG", PostcodeTable([])) == "48000 KAWANG"


def test_the_packaged_table_holds_malaysian_post_towns():
    table = postcode_table()
    if table is None:
        pytest.skip("countrystatecity-postal-codes (requirements.txt) is not installed")
    assert len(table) > 2500
    assert table.localities["48000"] == ("RAWANG",)
    assert "40300" in table.by_town["SHAH ALAM"]


def test_the_rule_reader_repairs_a_receipt_address_post_town():
    if postcode_table() is None:
        pytest.skip("countrystatecity-postal-codes (requirements.txt) is not installed")
    from app.domain import OcrResult, TextLine
    from app.extraction.doctypes import DOCUMENT_TYPES
    from app.extraction.rules import RuleReader

    texts = ["GUARDIAN HEALTH SDN BHD", "NO 15, JALAN BANDAR KAWANG 10,", "BANDAR BARU KAWANG,", "48000 KAWANG, SELANGOR",
             "TEL: 03-6091 1234", "TOTAL RM 2.28"]
    lines = tuple(TextLine(t, 0.95, ((10, 10 + 30 * i), (300, 10 + 30 * i), (300, 30 + 30 * i), (10, 30 + 30 * i)))
                  for i, t in enumerate(texts))
    specs = [DOCUMENT_TYPES["receipt"].spec("seller"), DOCUMENT_TYPES["receipt"].spec("address")]
    found = {c.key: c for c in RuleReader(address_model=None).read(OcrResult(lines, 400, 300, 0.0, 0.0), specs,
                                                                    "receipt")}
    assert found["address"].value == "NO 15, JALAN BANDAR RAWANG 10, BANDAR BARU RAWANG, 48000 RAWANG, SELANGOR"
