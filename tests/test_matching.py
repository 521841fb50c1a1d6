"""Field matching: names, dates, ID numbers, expiry."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain import dates as d
from chalicelib.domain import matching as m

TODAY = date(2026, 6, 15)


# --- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "submitted,document,outcome",
    [
        ("José Muñoz-García", "JOSE MUNOZ-GARCIA", "match"),  # diacritics, case
        ("Muñoz García", "MUNOZ-GARCIA", "match"),  # hyphen vs space
        ("Muñoz-García", "MUNOZ  GARCIA", "match"),  # multiple spaces
        ("Munoz–Garcia", "MUNOZ-GARCIA", "match"),  # en dash
        ("O'Brien", "OBRIEN", "match"),  # apostrophe
        ("O’Brien", "O'BRIEN", "match"),  # typographic apostrophe
        ("D'Angelo", "D ANGELO", "match"),
        ("Ｐａｌａｎｋａｒ", "PALANKAR", "match"),  # full-width (NFKD)
        ("Strauß", "STRAUSS", "match"),
        ("  palankar ", "PALANKAR", "match"),
        ("Palankar", "PALANKER", "typo"),  # a letter no reader confuses
        ("Sample", "SAMPIE", "near_miss"),  # L read as I
        ("Amrit", "ARNRIT", "near_miss"),  # M read as RN
        ("Palankar", "PA1ANKAR", "near_miss"),
        ("Palankar", "PALNAKAR", "typo"),  # transposition
        ("Garcia", "MUNOZ GARCIA", "near_miss"),  # compound name in part
        ("Palankar", "SMITH", "mismatch"),
        ("Smith", "SMYTHE", "mismatch"),  # two edits on a short name
        ("Li", "LU", "mismatch"),  # no typo allowance on 2 letters
        ("Palankar", "", "missing"),
        ("Palankar", None, "missing"),
        ("", "PALANKAR", "mismatch"),
    ],
)
def test_match_name(submitted, document, outcome):
    assert m.match_name(submitted, document).outcome == outcome


@pytest.mark.parametrize(
    "first,middle,doc_first,doc_middle,outcome",
    [
        ("Ashish", "", "ASHISH", None, "match"),
        ("Ashish", "", "ASHISH KUMAR", None, "match"),  # document middle only
        ("Ashish", "Kumar", "ASHISH", None, "match"),  # submitted middle only
        ("Ashish", "Kumar", "ASHISH KUMAR", None, "match"),  # FIRST_NAME holds "first middle"
        ("Ashish", "Kumar", "ASHISH", "KUMAR", "match"),
        ("Ashish Kumar", "", "ASHISH", "KUMAR", "match"),
        ("Ashish", "Kumar", "ASHISH K", None, "match"),  # middle initial
        ("Jean-Luc", "", "JEAN LUC", None, "match"),
        ("José", "", "JOSE", None, "match"),
        ("Ashish", "Kumar", "ASHISH RAJ", None, "near_miss"),  # different middle names
        ("Ashish", "", "ASHlSH", None, "near_miss"),  # OCR l for I
        ("Ashish", "Kumar", "ASHlSH KUMAR", None, "near_miss"),
        ("Ashish", "", "KUMAR", None, "mismatch"),
        ("John", "", "JANE", None, "mismatch"),
        ("John", "", "", None, "missing"),
    ],
)
def test_match_first_name(first, middle, doc_first, doc_middle, outcome):
    assert m.match_first_name(first, middle, doc_first, doc_middle).outcome == outcome


def test_normalize_name():
    assert m.normalize_name("  José  Muñoz-García ") == "jose munoz garcia"
    assert m.normalize_name("O'Brien") == "obrien"


def test_field_match_passed_only_on_match():
    assert m.FieldMatch("match").passed
    assert not any(m.FieldMatch(o).passed for o in ("near_miss", "mismatch", "missing"))


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,convention,kind,expected",
    [
        ("01/12/1957", "US", "birth", date(1957, 1, 12)),  # month first by default
        ("01/12/1957", "day-first", "birth", date(1957, 12, 1)),
        ("13/01/1957", "US", "birth", date(1957, 1, 13)),  # only one valid reading
        ("1957-01-12", "US", "birth", date(1957, 1, 12)),
        ("1957/01/12", "day-first", "birth", date(1957, 1, 12)),
        ("12 JAN 1957", "US", "birth", date(1957, 1, 12)),
        ("12 Jan 1957", "day-first", "birth", date(1957, 1, 12)),
        ("JAN 12, 1957", "US", "birth", date(1957, 1, 12)),
        ("12-JAN-1957", "US", "birth", date(1957, 1, 12)),
        ("12JAN1957", "US", "birth", date(1957, 1, 12)),
        ("12 SEP /SEPT 96", "day-first", "birth", date(1996, 9, 12)),  # bilingual, two-digit year
        ("12 SEP /SEPT 30", "day-first", "birth", date(1930, 9, 12)),  # birth: resolved to the past
        ("12 SEP /SEPT 30", "day-first", "expiry", date(2030, 9, 12)),  # expiry: the future-ish window
        ("05 MAI /MAY 31", "day-first", "expiry", date(2031, 5, 5)),
        ("14 AOÛT /AUG 88", "day-first", "birth", date(1988, 8, 14)),
        ("01 FÉVR /FEB 24", "day-first", "expiry", date(2024, 2, 1)),
        ("19570112", "US", "birth", date(1957, 1, 12)),
        ("01121957", "US", "birth", date(1957, 1, 12)),  # MMDDYYYY as on US barcodes
        ("01-12-1957", "US", "birth", date(1957, 1, 12)),
        ("01.12.1957", "day-first", "birth", date(1957, 12, 1)),
        ("01/12/57", "US", "birth", date(1957, 1, 12)),
        ("06/16/26", "US", "birth", date(1926, 6, 16)),  # not after today for a birth
        ("06/14/26", "US", "birth", date(2026, 6, 14)),
        ("16 JUN 26", "day-first", "birth", date(1926, 6, 16)),
        ("01/12/76", "US", "expiry", date(2076, 1, 12)),
        ("01/12/77", "US", "expiry", date(1977, 1, 12)),
    ],
)
def test_parse_document_date(text, convention, kind, expected):
    assert d.parse_document_date(text, convention=convention, kind=kind, today=TODAY) == expected


@pytest.mark.parametrize(
    "text", ["", None, "sometime", "31/02/1990", "12 FOO 1990", "JAN 1957", "12 JAN", "12 JAN / FEB 1957", "1957-13-01"]
)
def test_unreadable_dates(text):
    assert d.parse_document_date(text, today=TODAY) is None


def test_ambiguous_date_has_both_readings_convention_first():
    assert d.date_readings("03/04/1990", convention="US", today=TODAY) == [date(1990, 3, 4), date(1990, 4, 3)]
    assert d.date_readings("03/04/1990", convention="day-first", today=TODAY) == [date(1990, 4, 3), date(1990, 3, 4)]


def test_normalized_value_is_preferred_over_the_printed_text():
    readings = d.field_date_readings("03/04/1990", "1990-04-03", convention="US", today=TODAY)
    assert readings[0] == date(1990, 4, 3)
    readings = d.field_date_readings("garbled", "1990-04-03T00:00:00", today=TODAY)
    assert readings == [date(1990, 4, 3)]


@pytest.mark.parametrize(
    "submitted,readings,outcome",
    [
        ("1957-01-12", [date(1957, 1, 12)], "match"),
        ("1957-01-12", [date(1957, 12, 1), date(1957, 1, 12)], "near_miss"),  # day/month swapped
        ("1957-01-13", [date(1957, 1, 12)], "mismatch"),
        ("1957-01-12", [], "missing"),
        ("12/01/1957", [date(1957, 1, 12)], "mismatch"),  # submitted must be YYYY-MM-DD
    ],
)
def test_match_date(submitted, readings, outcome):
    assert d.match_date(submitted, readings).outcome == outcome


@pytest.mark.parametrize(
    "expiry,expired",
    [
        (date(2026, 6, 14), True),
        (date(2026, 6, 15), False),  # valid through its last day
        (date(2030, 1, 1), False),
    ],
)
def test_is_expired(expiry, expired):
    assert d.is_expired(expiry, TODAY) is expired


# --- ID numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "submitted,document,outcome",
    [
        ("S123-456-57-901-0", "S123456579010", "match"),
        ("s123 456 57 901 0", "S123-456-57-901-0", "match"),
        ("D1234.5678", "D12345678", "match"),
        ("d1234-5678", "D1234 5678", "match"),
        ("S123456579010", "5123456579010", "near_miss"),  # OCR S/5
        ("D12345678", "D12345679", "typo"),  # one character off
        ("D12345678", "D1234567B", "near_miss"),  # 8 read as B
        ("D12345678", "D87654321", "mismatch"),
        ("123", "124", "mismatch"),  # too short for a typo allowance
        ("D12345678", "", "missing"),
        ("D12345678", None, "missing"),
    ],
)
def test_match_id_number(submitted, document, outcome):
    assert m.match_id_number(submitted, document).outcome == outcome


def test_normalize_id_number():
    assert m.normalize_id_number("S123-456-57-901-0") == "s123456579010"


# --- plausible dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,normalized,kind",
    [
        ("02/21/198", "0198-02-21T00:00:00", "birth"),  # a year cut short, as Textract read one
        ("0198-02-21", None, "birth"),
        ("01/12/1857", None, "birth"),  # before 1900
        ("01/12/1890", "1890-01-12", "birth"),
        ("01/12/2027", "2027-01-12", "birth"),  # born after today
        ("07/31/2026", None, "issue"),  # issued after today
        ("01/12/2091", None, "expiry"),  # more than 50 years ahead
        ("01/12/1899", None, "expiry"),
    ],
)
def test_implausible_dates_are_no_reading(text, normalized, kind):
    assert d.field_date_readings(text, normalized, kind=kind, today=TODAY) == []


def test_the_oldest_plausible_birth_date_is_130_years_back():
    assert d.plausible_date(date(1910, 6, 15), "birth", date(2040, 6, 15))
    assert not d.plausible_date(date(1910, 6, 14), "birth", date(2040, 6, 15))
    assert d.plausible_date(date(2026, 6, 15), "birth", TODAY)
    assert not d.plausible_date(date(2026, 6, 16), "birth", TODAY)


def test_an_implausible_normalized_value_leaves_the_text_readings():
    assert d.field_date_readings("02/21/1984", "0198-02-21T00:00:00", today=TODAY) == [date(1984, 2, 21)]


def test_dates_are_judged_against_the_given_day():
    # the same printed date is a plausible birth date on one day and not on another
    assert d.parse_document_date("01/02/2026", today=date(2026, 1, 2)) == date(2026, 1, 2)
    assert d.parse_document_date("01/02/2026", today=date(2026, 1, 1)) is None
    assert d.parse_document_date("01/02/30", kind="birth", today=date(2031, 1, 1)) == date(2030, 1, 2)
    assert d.parse_document_date("01/02/30", kind="birth", today=date(2029, 1, 1)) == date(1930, 1, 2)


def test_no_date_function_reads_the_clock():
    with pytest.raises(TypeError):
        d.date_readings("01/12/1957")  # today is required


# --- partial readings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "submitted,document,outcome",
    [
        ("787878787", "7878787", "partial"),  # two digits dropped by the reader
        ("D12345678", "D1234", "partial"),  # cut short
        ("08954796", "D08954796", "partial"),  # one letter the customer left out
        ("08954796", "DL08954796", "partial"),  # a few characters more
        ("D12345678", "D123", "partial"),
        ("D12345678", "D12", "mismatch"),  # too little read to say
        ("787878787", "787878788", "typo"),
        ("D12345678", "D87654321", "mismatch"),
        ("123456789", "9123456789123", "mismatch"),  # more than a few characters more
    ],
)
def test_partial_id_numbers(submitted, document, outcome):
    assert m.match_id_number(submitted, document).outcome == outcome


@pytest.mark.parametrize(
    "submitted,document,outcome",
    [
        ("Alexander", "ALEXAND", "partial"),  # cut short on the card
        ("Quentin", "Q", "partial"),  # an initial
        ("Sample", "SAMPLE JR", "match"),  # a suffix on one side
        ("Sample Jr", "SAMPLE", "match"),
        ("Sample", "HARRISON", "mismatch"),
        ("Doe", "DOYLE", "mismatch"),
    ],
)
def test_partial_and_suffixed_names(submitted, document, outcome):
    assert m.match_name(submitted, document).outcome == outcome


@pytest.mark.parametrize(
    "first,middle,doc_first,doc_middle,outcome",
    [
        ("Connor", "", "CONNOR", "HUGH B", "match"),  # a MIDDLE_NAME read from a signature
        ("Connor James", "", "CONNOR", "HUGH B", "match"),
        ("Connor", "James", "CONNOR", "HUGH B", "match"),
        ("John", "Q", "J", None, "partial"),  # the card prints the initial only
        ("John", "Q", "Q", "JOHN", "mismatch"),  # name order: the decision sends it to review
    ],
)
def test_first_name_with_document_middle_names(first, middle, doc_first, doc_middle, outcome):
    assert m.match_first_name(first, middle, doc_first, doc_middle).outcome == outcome


def test_names_hold():
    assert m.names_hold(["maria"], ["garcia", "maria"])
    assert m.names_hold(["john"], ["q", "john"])
    assert m.names_hold(["quentin"], ["q"])  # the document's initial
    assert not m.names_hold(["q"], ["quentin"])  # never the submission's initial
    assert not m.names_hold(["harrison"], ["sample", "connor"])
    assert not m.names_hold([], ["sample"])
