"""ICAO 9303 TD1 MRZ: check digits, parsing, OCR repair, CCCD candidates."""

from datetime import date

import pytest

from app.domain import OcrResult
from app.extraction.readers.mrz import check_digit, clean_ocr_text, find_td1, mrz_candidates, parse_td1
from tests.conftest import line
from tests.synthetic.cccd import mrz_lines, random_person

# ICAO Doc 9303 Part 5, Appendix A: TD1 specimen.
SPECIMEN = ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]
TODAY = date(2026, 11, 21)


@pytest.mark.parametrize("text, digit", [("L898902C3", 6), ("740812", 2), ("120415", 9), ("D23145890", 7),
                                         ("<<<<<<", 0)])
def test_check_digit_icao_examples(text, digit):
    assert check_digit(text) == digit


def test_check_digit_rejects_characters_outside_the_mrz_alphabet():
    with pytest.raises(ValueError):
        check_digit("12a4")


def test_td1_specimen_parses_with_every_check_valid():
    td1 = parse_td1(SPECIMEN, today=TODAY)
    assert td1.valid
    assert td1.checks == {"document_number": True, "birth_date": True, "expiry_date": True, "composite": True}
    assert (td1.document_code, td1.issuing_state, td1.document_number) == ("I<", "UTO", "D23145890")
    assert (td1.birth_date, td1.sex, td1.expiry_date, td1.nationality) == ("1974-08-12", "F", "2012-04-15", "UTO")
    assert (td1.surname, td1.given_names, td1.full_name) == ("ERIKSSON", "ANNA MARIA", "ERIKSSON ANNA MARIA")
    assert td1.id_number is None


def _digit_corruptions(lines):
    for row in (0, 1):
        for col, ch in enumerate(lines[row]):
            if ch.isdigit():
                for repl in "0123456789".replace(ch, ""):
                    corrupted = list(lines)
                    corrupted[row] = corrupted[row][:col] + repl + corrupted[row][col + 1:]
                    yield row, col, corrupted


def test_every_single_digit_corruption_of_the_specimen_is_detected():
    count = 0
    for row, col, corrupted in _digit_corruptions(SPECIMEN):
        assert not parse_td1(corrupted, today=TODAY).valid, (row, col, corrupted[row])
        count += 1
    assert count == 24 * 9  # 24 digits on lines 1-2, 9 replacements each


def test_parse_rejects_lines_that_are_not_td1():
    with pytest.raises(ValueError):
        parse_td1(SPECIMEN[:2])
    with pytest.raises(ValueError):
        parse_td1([SPECIMEN[0][:29], SPECIMEN[1], SPECIMEN[2]])
    with pytest.raises(ValueError):
        parse_td1([SPECIMEN[0].lower(), SPECIMEN[1], SPECIMEN[2]])


def test_long_document_number_continues_in_optional_data():
    # ICAO Part 5 note j: 12-character number, filler at 15, rest + check digit in the optional data.
    number = "D23145890734"
    line1 = ("I<UTO" + number[:9] + "<" + number[9:] + str(check_digit(number)) + "<" * 30)[:30]
    line2 = "7408122F1204159UTO<<<<<<<<<<<"
    line2 += str(check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]))
    td1 = parse_td1([line1, line2, SPECIMEN[2]], today=TODAY)
    assert td1.document_number == number and td1.valid


# ------------------------------------------------------------------ CCCD layout
@pytest.mark.parametrize("seed", range(5))
def test_cccd_layout_gives_the_12_digit_id(seed):
    person = random_person(seed)
    td1 = parse_td1(mrz_lines(person), today=TODAY)
    assert td1.valid and td1.id_number == person.id_number
    assert td1.document_number == person.id_number[-9:]
    assert td1.checks["id_number"] and td1.checks["id_number_matches_document_number"]
    assert td1.birth_date == person.date_of_birth.isoformat()
    assert td1.expiry_date == person.date_of_expiry.isoformat()
    assert td1.sex == person.sex and td1.nationality == "VNM"


def test_every_single_digit_corruption_of_a_cccd_mrz_is_detected():
    lines = mrz_lines(random_person(3))
    for row, col, corrupted in _digit_corruptions(lines):
        assert not parse_td1(corrupted, today=TODAY).valid, (row, col, corrupted[row])


def test_birth_century():
    line2 = "3001015M3001016VNM<<<<<<<<<<<"

    def parse(line1, l2=line2):
        l2 = l2 + str(check_digit(line1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]))
        return parse_td1([line1, l2, "NGUYEN<<VAN<AN" + "<" * 16], today=TODAY)

    plain = "I<UTOD231458907<<<<<<<<<<<<<<<"
    # No CCCD ID: 20YY unless that is in the future.
    assert parse(plain).birth_date == "1930-01-01"
    assert parse(plain, "2501014M3001016VNM<<<<<<<<<<<").birth_date == "2025-01-01"
    # CCCD ID: digit 4 gives the century exactly (0 = 1900s, 2 = 2000s).
    id_1900s, id_2000s = "001025012345", "001225012345"
    cccd = "IDVNM{}{}{}<<{}"
    for id12, expected in ((id_1900s, "1925-01-01"), (id_2000s, "2025-01-01")):
        line1 = cccd.format(id12[3:], check_digit(id12[3:]), id12, check_digit(id12))
        assert parse(line1, "2501014M3001016VNM<<<<<<<<<<<").birth_date == expected


# ------------------------------------------------------------------ OCR repair
CCCD = random_person(1)


def test_clean_ocr_text_maps_look_alikes():
    assert clean_ocr_text("I D V N M 12«3 ‹x") == "IDVNM12<<3<X"
    assert clean_ocr_text("7608036Μ3608038VNΜ") == "7608036M3608038VNM"  # Greek capital mu
    assert clean_ocr_text("LY<<BICHくく") == "LY<<BICH<<"  # hiragana ku


def test_find_td1_in_clean_lines_with_noise_around():
    texts = ["Ngày, tháng, năm / Date, month, year: 10/05/2021", *mrz_lines(CCCD), "footer 123"]
    td1 = find_td1(texts, today=TODAY)
    assert td1 is not None and td1.valid and td1.lines == tuple(mrz_lines(CCCD))
    assert td1.line_indices == (1, 2, 3)


def _noisy(lines):
    l1, l2, l3 = lines
    l1 = " ".join([l1[:5], l1[5:15].replace("0", "O").replace("1", "I"), l1[15:27].replace("1", "L"), "«", l1[29]])
    l2 = l2[:15] + "VNΜ" + "<<<<<<<<KKK" + l2[29]  # Greek capital mu, K for fillers
    l3 = l3.rstrip("<") + "KKKK"  # trailing fillers dropped, K at the end
    return [l1, l2, l3]


def test_find_td1_repairs_ocr_confusions_and_validates():
    person = random_person(11)
    td1 = find_td1(_noisy(mrz_lines(person)), today=TODAY)
    assert td1 is not None and td1.valid
    assert td1.lines == tuple(mrz_lines(person))
    assert td1.id_number == person.id_number


def test_find_td1_joins_a_line_split_into_two_boxes_and_fits_filler_runs():
    l1, l2, l3 = mrz_lines(CCCD)
    texts = [l1[:15], l1[15:].replace("<<", "<<<<"), l2.replace("<" * 11, "<" * 8), l3.rstrip("<")]
    td1 = find_td1(texts, today=TODAY)
    assert td1 is not None and td1.valid and td1.lines == (l1, l2, l3)
    assert td1.line_indices == (0, 1, 2, 3)


def test_letters_in_an_icao_document_number_are_kept_when_they_validate():
    number = "L898902C3"
    line1 = ("I<UTO" + number + str(check_digit(number)) + "<" * 30)[:30]
    line2 = "7408122F1204159UTO<<<<<<<<<<<"
    line2 += str(check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]))
    td1 = find_td1([line1, line2, SPECIMEN[2]], today=TODAY)
    assert td1 is not None and td1.valid and td1.document_number == number


def test_find_td1_without_an_mrz():
    assert find_td1(["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Số / No.: 001093047064", "18/11/2028"]) is None
    assert find_td1([]) is None


def test_a_misread_digit_leaves_the_mrz_invalid():
    l1, l2, l3 = mrz_lines(CCCD)
    wrong = l2[:2] + ("5" if l2[2] != "5" else "6") + l2[3:]
    td1 = find_td1([l1, wrong, l3], today=TODAY)
    assert td1 is not None and not td1.valid and td1.checks["birth_date"] is False


# ------------------------------------------------------------------ candidates
def _ocr(texts):
    lines = tuple(line(t, 10, 30 * i, w=600) for i, t in enumerate(texts))
    return OcrResult(lines, 1000, 630, detection_ms=1.0, recognition_ms=1.0, engine="fake")


def test_mrz_candidates_for_a_cccd_back():
    person = CCCD
    cands = {c.key: c for c in mrz_candidates(_ocr(["Đặc điểm nhân dạng", *mrz_lines(person)]), today=TODAY)}
    assert set(cands) == {"id_number", "date_of_birth", "sex", "date_of_expiry", "nationality", "full_name"}
    assert all(c.source == "mrz" and c.confidence == 0.98 and c.line_indices == (1, 2, 3) for c in cands.values())
    assert cands["id_number"].normalized == person.id_number
    assert cands["id_number"].checks["check_digit"] and cands["id_number"].checks["matches_document_number"]
    assert cands["id_number"].checks["sex_matches"] and cands["id_number"].checks["birth_year"]
    assert cands["date_of_birth"].normalized == person.date_of_birth.isoformat()
    assert cands["date_of_birth"].value == person.date_of_birth.strftime("%y%m%d")
    assert cands["date_of_expiry"].normalized == person.date_of_expiry.isoformat()
    assert cands["sex"].normalized == person.sex
    assert cands["nationality"].value == "VNM" and cands["nationality"].normalized == "Việt Nam"
    assert cands["full_name"].normalized == "LY MY OANH" and cands["full_name"].checks == {"ascii_only": True}


def test_mrz_candidates_have_low_confidence_when_a_check_fails():
    l1, l2, l3 = mrz_lines(CCCD)
    wrong_id = l1[:20] + ("1" if l1[20] != "1" else "2") + l1[21:]  # a digit of the 12-digit ID copy
    cands = mrz_candidates(_ocr([wrong_id, l2, l3]), today=TODAY)
    id_cand = next(c for c in cands if c.key == "id_number")
    assert id_cand.confidence == 0.3 and id_cand.checks["check_digit"] is False
    assert all(c.confidence == 0.3 for c in cands)


def test_mrz_candidates_without_an_mrz():
    assert mrz_candidates(_ocr(["no machine readable zone here"])) == []
