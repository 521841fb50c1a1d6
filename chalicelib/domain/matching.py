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

Names and ID numbers are here; dates in chalicelib.domain.dates.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA
from unidecode import unidecode

MATCH, NEAR_MISS, MISMATCH, MISSING = "match", "near_miss", "mismatch", "missing"
PARTIAL, TYPO = "partial", "typo"
Outcome = Literal["match", "near_miss", "typo", "partial", "mismatch", "missing"]


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


_NAME_LOOKALIKES = str.maketrans({"1": "l", "i": "l", "0": "o", "q": "o", "5": "s", "8": "b", "6": "g", "f": "e"})


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
    return bool(names) and all(any(n == t or (len(t) == 1 and n.startswith(t)) for t in tokens) for n in names)


def _extends(shorter: list[str], longer: list[str]) -> bool:
    """shorter's extra (middle) tokens agree with longer's, allowing initials."""
    return len(shorter) <= len(longer) and all(_same_or_initial(x, y) for x, y in zip(shorter, longer, strict=False))


def match_first_name(
    submitted_first: str | None,
    submitted_middle: str | None,
    document_first: str | None,
    document_middle: str | None = None,
) -> FieldMatch:
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


def _match_first(
    submitted_first: str | None, submitted_middle: str | None, document_first: str | None, document_middle: str | None
) -> FieldMatch:
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


# --- ID numbers ----------------------------------------------------------------------------

_ID_SEPARATORS = re.compile(r"[^0-9a-z]+")  # after unidecode and casefold: every separator
_OCR_CONFUSIONS = str.maketrans(
    {"o": "0", "q": "0", "d": "0", "i": "1", "l": "1", "z": "2", "s": "5", "b": "8", "g": "6"}
)


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
    return len(b) > len(a) >= MIN_PARTIAL_ID and len(b) - len(a) <= MAX_EXTRA_ID_CHARACTERS and a in b


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
