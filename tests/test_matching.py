"""Field matching: names, dates, ID numbers, expiry."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib import matching as m

TODAY = date(2026, 6, 15)


# --- names -----------------------------------------------------------------------------------

@pytest.mark.parametrize("submitted,document,outcome", [
    ("José Muñoz-García", "JOSE MUNOZ-GARCIA", "match"),        # diacritics, case
    ("Muñoz García", "MUNOZ-GARCIA", "match"),                  # hyphen vs space
    ("Muñoz-García", "MUNOZ  GARCIA", "match"),                 # multiple spaces
    ("Munoz–Garcia", "MUNOZ-GARCIA", "match"),                  # en dash
    ("O'Brien", "OBRIEN", "match"),                              # apostrophe
    ("O’Brien", "O'BRIEN", "match"),                             # typographic apostrophe
    ("D'Angelo", "D ANGELO", "match"),
    ("Ｐａｌａｎｋａｒ", "PALANKAR", "match"),                   # full-width (NFKD)
    ("Strauß", "STRAUSS", "match"),
    ("  palankar ", "PALANKAR", "match"),
    ("Palankar", "PALANKER", "near_miss"),                      # one OCR-character typo
    ("Palankar", "PA1ANKAR", "near_miss"),
    ("Palankar", "PALNAKAR", "near_miss"),                      # transposition
    ("Garcia", "MUNOZ GARCIA", "near_miss"),                    # compound name in part
    ("Palankar", "SMITH", "mismatch"),
    ("Smith", "SMYTHE", "mismatch"),                            # two edits on a short name
    ("Li", "LU", "mismatch"),                                   # no typo allowance on 2 letters
    ("Palankar", "", "missing"),
    ("Palankar", None, "missing"),
    ("", "PALANKAR", "mismatch"),
])
def test_match_name(submitted, document, outcome):
    assert m.match_name(submitted, document).outcome == outcome


@pytest.mark.parametrize("first,middle,doc_first,doc_middle,outcome", [
    ("Ashish", "", "ASHISH", None, "match"),
    ("Ashish", "", "ASHISH KUMAR", None, "match"),              # document middle only
    ("Ashish", "Kumar", "ASHISH", None, "match"),               # submitted middle only
    ("Ashish", "Kumar", "ASHISH KUMAR", None, "match"),         # FIRST_NAME holds "first middle"
    ("Ashish", "Kumar", "ASHISH", "KUMAR", "match"),
    ("Ashish Kumar", "", "ASHISH", "KUMAR", "match"),
    ("Ashish", "Kumar", "ASHISH K", None, "match"),             # middle initial
    ("Jean-Luc", "", "JEAN LUC", None, "match"),
    ("José", "", "JOSE", None, "match"),
    ("Ashish", "Kumar", "ASHISH RAJ", None, "near_miss"),       # different middle names
    ("Ashish", "", "ASHlSH", None, "near_miss"),                # OCR l for I
    ("Ashish", "Kumar", "ASHlSH KUMAR", None, "near_miss"),
    ("Ashish", "", "KUMAR", None, "mismatch"),
    ("John", "", "JANE", None, "mismatch"),
    ("John", "", "", None, "missing"),
])
def test_match_first_name(first, middle, doc_first, doc_middle, outcome):
    assert m.match_first_name(first, middle, doc_first, doc_middle).outcome == outcome


def test_normalize_name():
    assert m.normalize_name("  José  Muñoz-García ") == "jose munoz garcia"
    assert m.normalize_name("O'Brien") == "obrien"


def test_field_match_passed_only_on_match():
    assert m.FieldMatch("match").passed
    assert not any(m.FieldMatch(o).passed for o in ("near_miss", "mismatch", "missing"))


# --- dates -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,convention,kind,expected", [
    ("01/12/1957", "US", "birth", date(1957, 1, 12)),           # month first by default
    ("01/12/1957", "day-first", "birth", date(1957, 12, 1)),
    ("13/01/1957", "US", "birth", date(1957, 1, 13)),           # only one valid reading
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
    ("01121957", "US", "birth", date(1957, 1, 12)),             # MMDDYYYY as on US barcodes
    ("01-12-1957", "US", "birth", date(1957, 1, 12)),
    ("01.12.1957", "day-first", "birth", date(1957, 12, 1)),
    ("01/12/57", "US", "birth", date(1957, 1, 12)),
    ("06/16/26", "US", "birth", date(1926, 6, 16)),             # not after today for a birth
    ("06/14/26", "US", "birth", date(2026, 6, 14)),
    ("16 JUN 26", "day-first", "birth", date(1926, 6, 16)),
    ("01/12/76", "US", "expiry", date(2076, 1, 12)),
    ("01/12/77", "US", "expiry", date(1977, 1, 12)),
])
def test_parse_document_date(text, convention, kind, expected):
    assert m.parse_document_date(text, convention=convention, kind=kind, today=TODAY) == expected


@pytest.mark.parametrize("text", ["", None, "sometime", "31/02/1990", "12 FOO 1990",
                                  "JAN 1957", "12 JAN", "12 JAN / FEB 1957", "1957-13-01"])
def test_unreadable_dates(text):
    assert m.parse_document_date(text, today=TODAY) is None


def test_ambiguous_date_has_both_readings_convention_first():
    assert m.date_readings("03/04/1990", convention="US", today=TODAY) == [
        date(1990, 3, 4), date(1990, 4, 3)]
    assert m.date_readings("03/04/1990", convention="day-first", today=TODAY) == [
        date(1990, 4, 3), date(1990, 3, 4)]


def test_normalized_value_is_preferred_over_the_printed_text():
    readings = m.field_date_readings("03/04/1990", "1990-04-03", convention="US", today=TODAY)
    assert readings[0] == date(1990, 4, 3)
    readings = m.field_date_readings("garbled", "1990-04-03T00:00:00", today=TODAY)
    assert readings == [date(1990, 4, 3)]


@pytest.mark.parametrize("submitted,readings,outcome", [
    ("1957-01-12", [date(1957, 1, 12)], "match"),
    ("1957-01-12", [date(1957, 12, 1), date(1957, 1, 12)], "near_miss"),  # day/month swapped
    ("1957-01-13", [date(1957, 1, 12)], "mismatch"),
    ("1957-01-12", [], "missing"),
    ("12/01/1957", [date(1957, 1, 12)], "mismatch"),            # submitted must be YYYY-MM-DD
])
def test_match_date(submitted, readings, outcome):
    assert m.match_date(submitted, readings).outcome == outcome


@pytest.mark.parametrize("expiry,expired", [
    (date(2026, 6, 14), True),
    (date(2026, 6, 15), False),                                  # valid through its last day
    (date(2030, 1, 1), False),
])
def test_is_expired(expiry, expired):
    assert m.is_expired(expiry, TODAY) is expired


# --- ID numbers --------------------------------------------------------------------------------

@pytest.mark.parametrize("submitted,document,outcome", [
    ("S123-456-57-901-0", "S123456579010", "match"),
    ("s123 456 57 901 0", "S123-456-57-901-0", "match"),
    ("D1234.5678", "D12345678", "match"),
    ("d1234-5678", "D1234 5678", "match"),
    ("S123456579010", "5123456579010", "near_miss"),            # OCR S/5
    ("D12345678", "D12345679", "near_miss"),                     # one character off
    ("D12345678", "D87654321", "mismatch"),
    ("123", "124", "mismatch"),                                  # too short for a typo allowance
    ("D12345678", "", "missing"),
    ("D12345678", None, "missing"),
])
def test_match_id_number(submitted, document, outcome):
    assert m.match_id_number(submitted, document).outcome == outcome


def test_normalize_id_number():
    assert m.normalize_id_number("S123-456-57-901-0") == "s123456579010"
