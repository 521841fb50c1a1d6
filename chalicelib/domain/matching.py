"""Matching what a user submitted against what was read from their ID document.

Every matcher returns a `FieldMatch` whose outcome is one of:
- "match":     the same value once spelling, case, accents and separators are ignored;
- "near_miss": close but not the same in a way a reading explains (letters a reader
               confuses: O/0, I/1/L, S/5, RN/M..., a name part missing, day and month
               swapped on an ambiguous date): a human should look;
- "typo":      one or two characters differ where no reading confusion explains it: on a
               clear reading that is a different value (the decision rejects), on a shaky
               one a human should look;
- "partial":   the document's reading is the submitted value cut short (a prefix, an
               initial, characters missing) or holds it with a few characters more: a
               reading problem as likely as a different value, so a human should look;
- "mismatch":  clearly different;
- "missing":   the document value is absent or unreadable.

Dates on documents are read in the forms IDs print them; numeric day/month order
follows a convention: "US" (month first, the default) or "day-first". Only plausible
dates are readings (`plausible_date`): a year before 1900, a birth date in the future or
more than 130 years ago, an issue date after today is an unreadable field, never a value
to compare. Every date rule takes `today` explicitly: nothing here reads the clock.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA
from unidecode import unidecode

MATCH, NEAR_MISS, MISMATCH, MISSING = "match", "near_miss", "mismatch", "missing"
PARTIAL, TYPO = "partial", "typo"
Outcome = Literal["match", "near_miss", "typo", "partial", "mismatch", "missing"]
Convention = Literal["US", "day-first"]
DateKind = Literal["birth", "expiry", "issue"]
US, DAY_FIRST = "US", "day-first"


@dataclass(frozen=True)
class FieldMatch:
    outcome: str
    score: float = 0.0  # 0-100, how alike the two values are

    @property
    def passed(self) -> bool:
        return self.outcome == MATCH


# --- names ---------------------------------------------------------------------------------

_APOSTROPHES = re.compile(r"['`\u2019\u02bc\u00b4]")
_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalize_name(value: str | None) -> str:
    """'  José  Muñoz-García ' -> 'jose munoz garcia'; "O'Brien" -> 'obrien'."""
    text = unicodedata.normalize("NFKD", value or "")
    text = unidecode(text).casefold()
    text = _APOSTROPHES.sub("", text)
    return _NON_ALNUM.sub(" ", text).strip()


def name_tokens(value: str | None) -> list[str]:
    return normalize_name(value).split()


_NAME_LOOKALIKES = str.maketrans({"1": "l", "i": "l", "0": "o", "q": "o", "5": "s", "8": "b",
                                  "6": "g", "f": "e"})


def _name_lookalike(squashed: str) -> str:
    """A name as a reader may confuse it: I/L/1, O/0/Q, E/F, RN/M, VV/W read alike."""
    return squashed.replace("rn", "m").replace("vv", "w").translate(_NAME_LOOKALIKES)


def _allowed_typos(length: int) -> int:
    """Edits tolerated as an OCR-like typo: none for 1-2 letters, 1 up to 8, then 2."""
    if length <= 2:
        return 0
    return 1 if length <= 8 else 2


SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})


def _without_suffix(tokens: list[str]) -> list[str]:
    return tokens[:-1] if len(tokens) > 1 and tokens[-1] in SUFFIXES else tokens


def _compare_tokens(submitted: list[str], document: list[str]) -> FieldMatch:
    a, b = " ".join(submitted), " ".join(document)
    score = float(fuzz.ratio(a, b))
    if not b:
        return FieldMatch(MISSING, 0.0)
    if not a:
        return FieldMatch(MISMATCH, score)
    if a == b or a.replace(" ", "") == b.replace(" ", ""):
        return FieldMatch(MATCH, 100.0)
    if _without_suffix(submitted) == _without_suffix(document):
        return FieldMatch(MATCH, 100.0)  # "SAMPLE JR" on one side only
    squashed_a, squashed_b = a.replace(" ", ""), b.replace(" ", "")
    if _name_lookalike(squashed_a) == _name_lookalike(squashed_b):
        return FieldMatch(NEAR_MISS, score)
    if OSA.distance(squashed_a, squashed_b) <= _allowed_typos(min(len(squashed_a), len(squashed_b))):
        return FieldMatch(TYPO, score)
    if set(submitted) <= set(document) or set(document) <= set(submitted):
        return FieldMatch(NEAR_MISS, score)  # a compound name given only in part
    if squashed_a.startswith(squashed_b):
        return FieldMatch(PARTIAL, score)  # cut short on the card or by the reader, or an initial
    return FieldMatch(MISMATCH, score)


def match_name(submitted: str | None, document: str | None) -> FieldMatch:
    """A last name (or any single name field)."""
    return _compare_tokens(name_tokens(submitted), name_tokens(document))


def _same_or_initial(a: str, b: str) -> bool:
    return a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))


def names_hold(names: list[str], tokens: list[str]) -> bool:
    """Every one of `names` (normalised tokens) is among `tokens`, or a token is its initial.

    How the decision recognises a name printed in another name's place ("Q. JOHN", a first
    and last name the card leaves in either order)."""
    return bool(names) and all(
        any(n == t or (len(t) == 1 and n.startswith(t)) for t in tokens) for n in names)


def _extends(shorter: list[str], longer: list[str]) -> bool:
    """shorter's extra (middle) tokens agree with longer's, allowing initials."""
    return len(shorter) <= len(longer) and all(
        _same_or_initial(x, y) for x, y in zip(shorter, longer))


def match_first_name(submitted_first: str | None, submitted_middle: str | None,
                     document_first: str | None, document_middle: str | None = None) -> FieldMatch:
    """First name, where a middle name given on one side only is not a mismatch.

    The document's FIRST_NAME may hold "first middle"; so may the submitted first name.
    The document's MIDDLE_NAME field can only help: a middle name is not a required field,
    and a reader's MIDDLE_NAME is the field it most often takes from elsewhere on the card
    (a signature, a second line); so a disagreeing MIDDLE_NAME never makes a result worse.
    """
    without_middle = _match_first(submitted_first, submitted_middle, document_first, None)
    if not name_tokens(document_middle) or without_middle.outcome in (MATCH, MISSING):
        return without_middle
    with_middle = _match_first(submitted_first, submitted_middle, document_first, document_middle)
    return with_middle if with_middle.outcome == MATCH else without_middle


def _match_first(submitted_first: str | None, submitted_middle: str | None,
                 document_first: str | None, document_middle: str | None) -> FieldMatch:
    sub_first, doc_first = name_tokens(submitted_first), name_tokens(document_first)
    direct = _compare_tokens(sub_first, doc_first)
    if direct.outcome in (MATCH, MISSING) or not sub_first:
        return direct
    sub_all = sub_first + name_tokens(submitted_middle)
    doc_all = doc_first + name_tokens(document_middle)
    if sub_all[0] == doc_all[0]:
        shorter, longer = sorted((sub_all, doc_all), key=len)
        if _extends(shorter, longer):
            return FieldMatch(MATCH, 100.0)
    given_only = _compare_tokens(sub_first[:1], doc_first[:1])
    if given_only.outcome == MATCH:
        return FieldMatch(NEAR_MISS, direct.score)  # same given name, different middle names
    if given_only.outcome in (NEAR_MISS, TYPO) and direct.outcome in (MISMATCH, TYPO):
        return FieldMatch(given_only.outcome, given_only.score)
    if given_only.outcome == PARTIAL and direct.outcome == MISMATCH:
        return FieldMatch(PARTIAL, given_only.score)  # an initial or a shortened given name
    return direct


# --- dates ---------------------------------------------------------------------------------

_MONTHS = {
    # English
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
    # French (accents removed), as on bilingual Canadian documents
    "janv": 1, "janvier": 1, "fev": 2, "fevr": 2, "fevrier": 2, "mars": 3, "avr": 4, "avril": 4,
    "mai": 5, "juin": 6, "juil": 7, "juillet": 7, "aou": 8, "aout": 8, "septembre": 9,
    "octobre": 10, "novembre": 11, "decembre": 12,
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


def _ordered(first: int, second: int, year_text: str, convention: str, kind: str,
             today: date) -> list[date]:
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


def date_readings(text: str | None, *, convention: str = US, kind: str = "birth",
                  today: date) -> list[date]:
    """Every plausible reading of a printed date, the most likely first; [] when unreadable."""
    cleaned = unidecode(unicodedata.normalize("NFKD", text or "")).casefold().strip()
    if not cleaned:
        return []
    return [d for d in _raw_date_readings(cleaned, convention, kind, today)
            if plausible_date(d, kind, today)]


def parse_document_date(text: str | None, *, convention: str = US, kind: str = "birth",
                        today: date) -> date | None:
    """The most likely plausible reading of a printed date, or None."""
    readings = date_readings(text, convention=convention, kind=kind, today=today)
    return readings[0] if readings else None


def field_date_readings(value: str | None, normalized: str | None, *, convention: str = US,
                        kind: str = "birth", today: date) -> list[date]:
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


# --- ID numbers ----------------------------------------------------------------------------

_ID_SEPARATORS = re.compile(r"[^0-9a-z]+")  # after unidecode and casefold: every separator
_OCR_CONFUSIONS = str.maketrans({"o": "0", "q": "0", "d": "0", "i": "1", "l": "1",
                                 "z": "2", "s": "5", "b": "8", "g": "6"})


def normalize_id_number(value: str | None) -> str:
    """'S123-456-57-901-0' -> 's123456579010'; 'No. 123/45' -> 'no12345'."""
    text = unidecode(unicodedata.normalize("NFKC", value or "")).casefold()
    return _ID_SEPARATORS.sub("", text)


def is_subsequence(short: str, long: str) -> bool:
    """`short`'s characters appear in `long` in the same order (others may be missing)."""
    chars = iter(long)
    return all(ch in chars for ch in short)


MIN_PARTIAL_ID = 4  # a reading shorter than this says too little to call it the same number
MAX_EXTRA_ID_CHARACTERS = 3


def id_number_partial(submitted: str, document: str) -> bool:
    """The document's reading of a number is the submitted one with characters missing
    (a prefix, or a few digits dropped: "7878787" for "787878787"), or holds the submitted
    one with a few characters more (a letter prefix the customer left out). Both are
    compared after normalisation and after mapping OCR-confusable letters to digits."""
    a, b = submitted.translate(_OCR_CONFUSIONS), document.translate(_OCR_CONFUSIONS)
    if len(b) < len(a):
        return len(b) >= min(MIN_PARTIAL_ID, len(a) - 1) and is_subsequence(b, a)
    return (len(b) > len(a) >= MIN_PARTIAL_ID and len(b) - len(a) <= MAX_EXTRA_ID_CHARACTERS
            and a in b)


def match_id_number(submitted: str | None, document: str | None) -> FieldMatch:
    a, b = normalize_id_number(submitted), normalize_id_number(document)
    if not b:
        return FieldMatch(MISSING, 0.0)
    if a == b:
        return FieldMatch(MATCH, 100.0)
    score = float(fuzz.ratio(a, b))
    if a and a.translate(_OCR_CONFUSIONS) == b.translate(_OCR_CONFUSIONS):
        return FieldMatch(NEAR_MISS, score)
    if a and id_number_partial(a, b):
        return FieldMatch(PARTIAL, score)
    if a and min(len(a), len(b)) >= 5 and OSA.distance(a, b) <= 1:
        return FieldMatch(TYPO, score)
    return FieldMatch(MISMATCH, score)
