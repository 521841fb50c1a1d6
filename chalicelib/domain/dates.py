"""Dates printed on identity documents, and a submitted date against them.

Dates on documents are read in the forms IDs print them; numeric day/month order follows a
convention: "US" (month first, the default) or "day-first". Only plausible dates are readings
(`plausible_date`): a year before 1900, a birth date in the future or more than 130 years ago,
an issue date after today is an unreadable field, never a value to compare. Every date rule
takes `today` explicitly: nothing here reads the clock.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Literal

from unidecode import unidecode

from chalicelib.domain.matching import MATCH, MISMATCH, MISSING, NEAR_MISS, FieldMatch

Convention = Literal["US", "day-first"]
DateKind = Literal["birth", "expiry", "issue"]
US, DAY_FIRST = "US", "day-first"


_MONTHS = {
    # English
    "jan": 1,
    "january": 1,
    "feb": 2,
    "february": 2,
    "mar": 3,
    "march": 3,
    "apr": 4,
    "april": 4,
    "may": 5,
    "jun": 6,
    "june": 6,
    "jul": 7,
    "july": 7,
    "aug": 8,
    "august": 8,
    "sep": 9,
    "sept": 9,
    "september": 9,
    "oct": 10,
    "october": 10,
    "nov": 11,
    "november": 11,
    "dec": 12,
    "december": 12,
    # French (accents removed), as on bilingual Canadian documents
    "janv": 1,
    "janvier": 1,
    "fev": 2,
    "fevr": 2,
    "fevrier": 2,
    "mars": 3,
    "avr": 4,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juil": 7,
    "juillet": 7,
    "aou": 8,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "decembre": 12,
}
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_NUMERIC = re.compile(r"^(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{2}|\d{4})$")
_COMPACT = re.compile(r"^\d{8}$")
_WORD_OR_NUMBER = re.compile(r"[a-z]+|\d+")


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def resolve_two_digit_year(yy: int, kind: str, today: date) -> int:
    """Birth and issue dates lie in the past; expiry dates within 50 years either side of today."""
    year = today.year - today.year % 100 + yy
    if kind == "expiry":
        if year > today.year + 50:
            year -= 100
        elif year < today.year - 50:
            year += 100
        return year
    return year - 100 if year > today.year else year


def _resolve(year_text: str, month: int, day: int, kind: str, today: date) -> date | None:
    """A date from a 4- or 2-digit year; a 2-digit birth or issue date is never after today."""
    if len(year_text) == 4:
        return _safe_date(int(year_text), month, day)
    year = resolve_two_digit_year(int(year_text), kind, today)
    found = _safe_date(year, month, day)
    if found is not None and kind != "expiry" and found > today:
        found = _safe_date(year - 100, month, day)
    return found


def _ordered(first: int, second: int, year_text: str, convention: str, kind: str, today: date) -> list[date]:
    """Both readings of first/second as month/day, the convention's first, valid ones only."""
    month_first = _resolve(year_text, first, second, kind, today)
    day_first = _resolve(year_text, second, first, kind, today)
    ordered = [month_first, day_first] if convention == US else [day_first, month_first]
    out: list[date] = []
    for d in ordered:
        if d is not None and d not in out:
            out.append(d)
    return out


def _with_month_name(text: str, kind: str, today: date) -> list[date]:
    """'12 JAN 1957', '12 SEP /SEPT 96', 'JAN 12, 1957', '12JAN1957'."""
    tokens = _WORD_OR_NUMBER.findall(text)
    months = {_MONTHS[t] for t in tokens if t in _MONTHS}
    words = [t for t in tokens if t.isalpha()]
    numbers = [t for t in tokens if t.isdigit()]
    if len(months) != 1 or len(numbers) != 2 or any(w not in _MONTHS for w in words):
        return []
    month = months.pop()
    if len(numbers[0]) == 4:  # 1957 JAN 12
        year_text, day_text = numbers
    else:
        day_text, year_text = numbers
    if len(day_text) > 2 or len(year_text) not in (2, 4):
        return []
    found = _resolve(year_text, month, int(day_text), kind, today)
    return [found] if found else []


OLDEST_YEAR = 1900
MAX_AGE_YEARS = 130
EXPIRY_HORIZON_YEARS = 50


def _years_from(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def plausible_date(found: date, kind: str, today: date) -> bool:
    """Whether a date can be what a document prints for `kind`, judged on `today`.

    Every kind: not before 1900. Birth: not after today, not more than 130 years before it.
    Issue: not after today. Expiry: not more than 50 years after today (an expiry in the
    past is plausible: that document is expired)."""
    if found.year < OLDEST_YEAR:
        return False
    if kind == "birth":
        return _years_from(today, -MAX_AGE_YEARS) <= found <= today
    if kind == "issue":
        return found <= today
    if kind == "expiry":
        return found <= _years_from(today, EXPIRY_HORIZON_YEARS)
    return True


def _raw_date_readings(cleaned: str, convention: str, kind: str, today: date) -> list[date]:
    if m := _ISO.match(cleaned):
        found = _safe_date(int(m[1]), int(m[2]), int(m[3]))
        return [found] if found else []
    if _COMPACT.match(cleaned):
        as_ymd = _safe_date(int(cleaned[:4]), int(cleaned[4:6]), int(cleaned[6:]))
        if as_ymd and 1800 <= as_ymd.year <= 2200:
            return [as_ymd]
        return _ordered(int(cleaned[:2]), int(cleaned[2:4]), cleaned[4:], convention, kind, today)
    if m := _NUMERIC.match(cleaned):
        return _ordered(int(m[1]), int(m[2]), m[3], convention, kind, today)
    return _with_month_name(cleaned, kind, today)


def date_readings(text: str | None, *, convention: str = US, kind: str = "birth", today: date) -> list[date]:
    """Every plausible reading of a printed date, the most likely first; [] when unreadable."""
    cleaned = unidecode(unicodedata.normalize("NFKD", text or "")).casefold().strip()
    if not cleaned:
        return []
    return [d for d in _raw_date_readings(cleaned, convention, kind, today) if plausible_date(d, kind, today)]


def parse_document_date(text: str | None, *, convention: str = US, kind: str = "birth", today: date) -> date | None:
    """The most likely plausible reading of a printed date, or None."""
    readings = date_readings(text, convention=convention, kind=kind, today=today)
    return readings[0] if readings else None


def field_date_readings(
    value: str | None, normalized: str | None, *, convention: str = US, kind: str = "birth", today: date
) -> list[date]:
    """Plausible readings of a document date field, the provider's NormalizedValue
    (YYYY-MM-DD) first. A NormalizedValue that is no plausible date ("0198-02-21" for a
    printed "02/21/198") is dropped, and so is every implausible reading of the text."""
    readings: list[date] = []
    if normalized:
        readings.extend(date_readings(normalized[:10], kind=kind, today=today))
    for d in date_readings(value, convention=convention, kind=kind, today=today):
        if d not in readings:
            readings.append(d)
    return readings


def parse_submitted_date(value: str | None) -> date | None:
    """A submitted date: YYYY-MM-DD."""
    m = _ISO.match((value or "").strip())
    return _safe_date(int(m[1]), int(m[2]), int(m[3])) if m else None


def match_date(submitted: str | None, readings: list[date]) -> FieldMatch:
    """Submitted YYYY-MM-DD against a document's readings (see field_date_readings)."""
    if not readings:
        return FieldMatch(MISSING, 0.0)
    wanted = parse_submitted_date(submitted)
    if wanted is None:
        return FieldMatch(MISMATCH, 0.0)
    if readings[0] == wanted:
        return FieldMatch(MATCH, 100.0)
    if wanted in readings[1:]:
        return FieldMatch(NEAR_MISS, 50.0)  # matches only with day and month read the other way
    return FieldMatch(MISMATCH, 0.0)


def is_expired(expiry: date, today: date) -> bool:
    """A document is expired from the day after its expiration date."""
    return expiry < today
