"""Structure checks of the 12-digit personal identification number (Circular 59/2021/TT-BCA)."""

from datetime import date

import pytest

from app.extraction.readers.idnumber import CHECK_NAMES, PROVINCE_CODES, check_id_number
from app.extraction.readers.mrz import check_digit

TODAY = date(2026, 11, 21)
# (ID, date of birth, sex): 20th/21st century, male/female, several provinces.
VALID = [
    ("001093047061", date(1993, 1, 5), "M"),
    ("079185012345", date(1985, 7, 30), "F"),
    ("048204000123", date(2004, 2, 29), "M"),
    ("096301999999", date(2001, 12, 31), "F"),
    ("038066543210", date(1966, 3, 3), "M"),
]


def corruptions(id12: str, positions):
    """Every single-digit substitution at the given 1-based positions."""
    for pos in positions:
        for digit in "0123456789":
            if digit != id12[pos - 1]:
                yield pos, id12[:pos - 1] + digit + id12[pos:]


def test_province_codes_are_the_63_official_ones():
    assert len(PROVINCE_CODES) == 63
    assert all(len(code) == 3 and code.isdigit() and "001" <= code <= "096" for code in PROVINCE_CODES)
    assert PROVINCE_CODES["001"] == "Hà Nội" and PROVINCE_CODES["079"] == "Hồ Chí Minh"
    assert PROVINCE_CODES["096"] == "Cà Mau" and "003" not in PROVINCE_CODES


@pytest.mark.parametrize("id12, born, sex", VALID)
def test_valid_ids_pass_every_check(id12, born, sex):
    result = check_id_number(id12, born, sex, today=TODAY)
    assert result.valid
    assert result.as_dict() == {name: True for name in CHECK_NAMES}
    assert result.birth_year_from_id == born.year and result.sex_from_id == sex
    assert result.province_name == PROVINCE_CODES[id12[:3]]


def test_checks_that_need_a_birth_date_or_sex_are_not_evaluated_without_them():
    result = check_id_number("001093047061", today=TODAY)
    assert result.valid
    assert (result.birth_year, result.century_matches, result.sex_matches) == (None, None, None)
    assert result.format and result.province and result.century_sex_digit


def test_sex_may_be_given_in_vietnamese():
    assert check_id_number("079185012345", sex="Nữ", today=TODAY).sex_matches
    assert check_id_number("079185012345", sex="Nam", today=TODAY).sex_matches is False


@pytest.mark.parametrize("bad", ["00109304706", "0010930470612", "00109304706A", "００1093047061", ""])
def test_malformed_numbers_fail_the_format_check_only(bad):
    result = check_id_number(bad, date(1993, 1, 5), "M", today=TODAY)
    assert result.format is False and not result.valid
    assert all(getattr(result, name) is None for name in CHECK_NAMES if name != "format")


def test_a_birth_year_in_the_future_fails_the_century_sex_digit_check():
    # digit 4 = 2 (2000s, male) with year digits 93 gives 2093.
    assert check_id_number("001293047061", today=TODAY).century_sex_digit is False
    assert check_id_number("001226047061", today=TODAY).century_sex_digit is True  # 2026


@pytest.mark.parametrize("id12, born, sex", VALID)
def test_every_corruption_of_digits_4_to_6_is_detected_with_birth_date_and_sex(id12, born, sex):
    for pos, corrupted in corruptions(id12, range(4, 7)):
        assert not check_id_number(corrupted, born, sex, today=TODAY).valid, (pos, corrupted)


@pytest.mark.parametrize("id12, born, sex", VALID)
def test_corruption_of_the_province_code_is_detected_unless_it_gives_another_valid_code(id12, born, sex):
    # Digits 1-3 are not tied to the birth date or sex: a misread that turns one
    # province code into another one (001 -> 002, 079 -> 074 ...) passes.
    for pos, corrupted in corruptions(id12, range(1, 4)):
        detected = not check_id_number(corrupted, born, sex, today=TODAY).valid
        assert detected == (corrupted[:3] not in PROVINCE_CODES), (pos, corrupted)


def test_fraction_of_detectable_corruptions_per_position():
    detected = {pos: 0 for pos in range(1, 13)}
    total = {pos: 0 for pos in range(1, 13)}
    for id12, born, sex in VALID:
        for pos, corrupted in corruptions(id12, range(1, 13)):
            total[pos] += 1
            detected[pos] += not check_id_number(corrupted, born, sex, today=TODAY).valid
    rate = {pos: detected[pos] / total[pos] for pos in total}
    # Positions 4-6: always (century/sex digit and birth year). Positions 1-3:
    # only when the code leaves the province list - 86 of these 135 (64 %).
    assert all(rate[pos] == 1.0 for pos in (4, 5, 6))
    assert sum(detected[p] for p in (1, 2, 3)) == 86 and sum(total[p] for p in (1, 2, 3)) == 135
    # Positions 7-12 are a random serial with no check digit: no corruption
    # there is detectable from the number's structure (0 of 270).
    assert all(rate[pos] == 0.0 for pos in range(7, 13))


@pytest.mark.parametrize("id12, born, sex", VALID)
def test_the_mrz_copy_check_digit_catches_every_single_digit_corruption(id12, born, sex):
    # On the card's back the MRZ repeats the 12 digits followed by their ICAO
    # check digit (weights 7, 3, 1 are prime to 10, so any one changed digit
    # changes the check digit). Reading both copies catches what structure
    # cannot: a corrupted MRZ copy fails its check digit, and a corrupted
    # printed/OCR copy disagrees with a validated MRZ copy.
    for pos, corrupted in corruptions(id12, range(1, 13)):
        assert check_digit(corrupted) != check_digit(id12), (pos, corrupted)


def test_share_of_province_code_misreads_that_leave_the_list():
    # Over all 63 codes and all 27 single-digit substitutions each: position 1
    # always leaves 001-096 (567/567); positions 2 and 3 land on another valid
    # code two times in three (189/567 and 225/567 detected): 981/1701 = 58 %.
    per_position = {1: 0, 2: 0, 3: 0}
    for code in PROVINCE_CODES:
        for pos, corrupted in corruptions(code + "000000000", range(1, 4)):
            per_position[pos] += corrupted[:3] not in PROVINCE_CODES
    assert per_position == {1: 567, 2: 189, 3: 225}
