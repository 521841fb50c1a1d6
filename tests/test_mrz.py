"""chalicelib.domain.mrz: ICAO 9303 shape, check digits and fields (ICAO's own specimens)."""

from datetime import date

import pytest

from chalicelib.domain import mrz

TODAY = date(2026, 11, 28)
TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
TD2 = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6"
TD1 = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"


def test_check_digit_weights_and_letters():
    assert mrz.check_digit("L898902C3") == "6"
    assert mrz.check_digit("740812") == "2"
    assert mrz.check_digit("<<<<<<<<<<<<<<") == "0"


@pytest.mark.parametrize(
    "text,kind,number", [(TD3, "TD3", "L898902C3"), (TD2, "TD2", "D23145890"), (TD1, "TD1", "D23145890")]
)
def test_specimens_parse_and_pass_every_check(text, kind, number):
    zone = mrz.parse(text)
    assert zone is not None and zone.kind == kind and zone.valid, zone
    assert (zone.surname, zone.given_names, zone.document_number) == ("ERIKSSON", "ANNA MARIA", number)
    assert zone.birth(TODAY) == date(1974, 8, 12)
    assert zone.expiry(TODAY) == date(2012, 4, 15)


@pytest.mark.parametrize(
    "position,name", [(9, "document_number"), (19, "birth_date"), (27, "expiry_date"), (43, "composite")]
)
def test_a_changed_check_digit_fails_its_check(position, name):
    l1, l2 = TD3.split("\n")
    bad = l2[:position] + str((int(l2[position]) + 1) % 10) + l2[position + 1 :]
    zone = mrz.parse([l1, bad])
    assert zone is not None and not zone.valid and name in zone.failed_checks


def test_a_changed_field_fails_its_check_digit():
    l1, l2 = TD3.split("\n")
    zone = mrz.parse([l1, l2.replace("740812", "740813")])
    assert "birth_date" in zone.failed_checks and "composite" in zone.failed_checks


@pytest.mark.parametrize(
    "text",
    [
        "Operation of a motor vehicle constitutes consent to any sobriety test required by law.",
        "DOB 01/12/1957 EXP 01/12/2027 4d DLN S123-456-57-901-0",
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",  # one line only
        TD3.replace("\n", "\nX"),  # wrong length
        TD3.replace("7408122", "74O8122"),  # a letter where a digit belongs
        "CONSENTTOANYSOBRIETYTESTREQUIREDBYLAWOPERATI\nONOFAMOTORVEHICLECONSTITUTESCONSENTTOANYSOBR",
    ],
)
def test_what_is_not_a_zone_is_refused(text):
    assert mrz.parse(text) is None


def test_ocr_confusions_are_corrected_by_position():
    l1, l2 = TD3.split("\n")
    ocr = [
        l1.replace("ERIKSSON", "ERIKSS0N").replace("<<<<<", "<<K<<", 1),
        l2.replace("7408122", "74O8122").replace("1204159", "12O4159"),
    ]
    zone = mrz.parse(mrz.correct(ocr, "TD3"))
    assert zone is not None and zone.valid and zone.surname == "ERIKSSON"


def test_td1_long_document_number_continues_in_optional_data():
    number, tail = "D23145890", "1234"
    l1 = f"I<UTO{number}<{tail}{mrz.check_digit(number + tail)}".ljust(30, "<")
    l2 = "7408122F1204159UTO<<<<<<<<<<<"
    l2 += mrz.check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    zone = mrz.parse([l1, l2, "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"])
    assert zone.valid and zone.document_number == number + tail


def test_recorded_textract_passport_zone_fails_its_checks():
    """nava-passport-with-mrz.json's MRZ_CODE has the shape of a TD3 zone, but its check
    digits do not hold: consistency evidence to report, never to trust."""
    text = "P<USAJUAN<<LI<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\n0002028373USA8205011F2905091234567890<123456"
    zone = mrz.parse(text)
    assert zone is not None and not zone.valid
    assert zone.birth(TODAY) == date(1982, 5, 1) and zone.expiry(TODAY) == date(2029, 5, 9)
