"""chalicelib.domain.mrz's additions for the decision: a provider's zone text read (with correction by
position), and a zone's fields named as Textract names them, judged against an explicit day."""

from __future__ import annotations

from datetime import date

from chalicelib.domain import mrz
from tests.mrz_support import td3

ZONE = td3("JUAN", "LI", "000202837", "820501", "290509")


def test_a_zone_built_with_its_check_digits_is_valid():
    zone = mrz.read(ZONE)
    assert zone is not None and zone.valid and zone.kind == "TD3"


def test_textract_named_fields_with_dates_resolved_against_today():
    fields = mrz.textract_fields(mrz.read(ZONE), date(2026, 6, 15))
    assert fields == {
        "LAST_NAME": "JUAN",
        "FIRST_NAME": "LI",
        "DOCUMENT_NUMBER": "000202837",
        "DATE_OF_BIRTH": "1982-05-01",
        "EXPIRATION_DATE": "2029-05-09",
    }


def test_two_digit_years_follow_the_given_day():
    zone = mrz.read(td3("DOE", "JANE", "X1234567", "300101", "350101"))
    assert mrz.textract_fields(zone, date(2026, 6, 15))["DATE_OF_BIRTH"] == "1930-01-01"
    assert mrz.textract_fields(zone, date(2031, 6, 15))["DATE_OF_BIRTH"] == "2030-01-01"


def test_ocr_confusions_are_corrected_by_position_before_parsing():
    line1, line2 = ZONE.split("\n")
    misread = line1 + "\n" + line2.replace("820501", "82O5OI")  # digits read as letters
    assert mrz.parse(misread) is None
    zone = mrz.read(misread)
    assert zone is not None and zone.valid
    assert zone.birth_date == "820501"


def test_a_line_one_character_short_is_padded():
    line1, line2 = ZONE.split("\n")
    assert mrz.read(line1[:-1] + "\n" + line2).valid


def test_text_that_is_no_zone_gives_none():
    assert mrz.read("") is None
    assert mrz.read("PASSPORT\nNEW YORK CITY") is None


def test_a_zone_whose_check_digits_fail_is_read_but_not_valid():
    text = "P<USAJUAN<<LI<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\n0002028373USA8205011F2905091234567890<123456"
    zone = mrz.read(text)
    assert zone is not None and not zone.valid
    assert "birth_date" in zone.failed_checks
