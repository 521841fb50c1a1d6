"""ICAO 9303 machine-readable zones (TD1 ID cards, TD2, TD3 passports): shape, check digits
and fields. Pure rules, no I/O; both the AWS path (Textract's MRZ_CODE field) and the
self-hosted reader (OCR rows) use them.

A zone is believed only when it is one: the right number of lines of the right length, only
A-Z, 0-9 and '<', and the fixed positions where the format has digits hold digits. `parse`
returns None for anything else (prose, dates, labels). A parsed zone reports each check
digit; `valid` means every one holds (document number, birth date, expiry date, the
composite, and the personal number's where it is given).

`correct` fixes what OCR commonly confuses (O/0, I/1, S/5, B/8, Z/2, G/6, A/4, '<' read as
K or C) by position before parsing: digits where the format has digits, letters where it has
letters. A corrected zone must still pass its check digits to be valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

LENGTHS = {"TD1": (30, 3), "TD2": (36, 2), "TD3": (44, 2)}
_CHARSET = re.compile(r"^[A-Z0-9<]+$")
_WEIGHTS = (7, 3, 1)

# One class per position: a = letter or '<', d = digit, c = digit or '<' (check digit of an
# optional field), x = letter, digit or '<', s = sex (M, F, X or '<').
TEMPLATES = {
    "TD3": ("a" * 44, "x" * 9 + "d" + "aaa" + "d" * 7 + "s" + "d" * 7 + "x" * 14 + "c" + "d"),
    "TD2": ("a" * 36, "x" * 9 + "d" + "aaa" + "d" * 7 + "s" + "d" * 7 + "x" * 7 + "d"),
    "TD1": ("aa" + "aaa" + "x" * 9 + "c" + "x" * 15, "d" * 7 + "s" + "d" * 7 + "aaa" + "x" * 11 + "d", "a" * 30),
}
TO_DIGIT = {
    "O": "0",
    "Q": "0",
    "D": "0",
    "U": "0",
    "I": "1",
    "L": "1",
    "T": "1",
    "Z": "2",
    "S": "5",
    "B": "8",
    "G": "6",
    "A": "4",
}
TO_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G", "4": "A"}


def check_digit(text: str) -> str:
    """ICAO 9303 check digit of `text` (digits, A-Z = 10-35, '<' = 0)."""
    total = 0
    for i, ch in enumerate(text):
        if ch.isdigit():
            value = int(ch)
        elif "A" <= ch <= "Z":
            value = ord(ch) - 55
        else:
            value = 0
        total += value * _WEIGHTS[i % 3]
    return str(total % 10)


def _split(text: str | list[str]) -> list[str]:
    lines = text if isinstance(text, list) else re.split(r"[\r\n]+", text or "")
    return [re.sub(r"\s+", "", line).upper() for line in lines if line and line.strip()]


def kind_of(lines: list[str]) -> str | None:
    """The format whose line count and lengths these lines have exactly, or None."""
    for kind, (length, count) in LENGTHS.items():
        if len(lines) == count and all(len(line) == length for line in lines):
            return kind
    return None


def _fits_template(kind: str, lines: list[str]) -> bool:
    for line, template in zip(lines, TEMPLATES[kind], strict=True):
        for ch, cls in zip(line, template, strict=True):
            if cls == "d" and not ch.isdigit():
                return False
            if cls == "c" and not (ch.isdigit() or ch == "<"):
                return False
            if cls == "s" and ch not in "MFX<":
                return False
            if cls == "a" and ch.isdigit():
                return False
    return True


@dataclass(frozen=True)
class Mrz:
    kind: str  # TD1, TD2 or TD3
    lines: tuple[str, ...]
    document_code: str  # P, I, A, C, V (first letter)
    issuer: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: str  # YYMMDD as printed
    sex: str
    expiry_date: str  # YYMMDD as printed
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def birth(self, today: date) -> date | None:
        """The birth date: a two-digit year is never in the future."""
        return _yymmdd(self.birth_date, today, future=False)

    def expiry(self, today: date) -> date | None:
        """The expiry date: a two-digit year within 50 years either side of `today`."""
        return _yymmdd(self.expiry_date, today, future=True)


def _yymmdd(text: str, today: date, future: bool) -> date | None:
    if not re.fullmatch(r"\d{6}", text or ""):
        return None
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:])
    year = today.year - today.year % 100 + yy
    if future:
        if year > today.year + 50:
            year -= 100
        elif year < today.year - 50:
            year += 100
    elif year > today.year:
        year -= 100
    try:
        found = date(year, mm, dd)
    except ValueError:
        return None
    if not future and found > today:
        try:
            found = date(year - 100, mm, dd)
        except ValueError:
            return None
    return found


def _names(field_text: str) -> tuple[str, str]:
    surname, _, given = field_text.partition("<<")
    return (surname.replace("<", " ").strip(), given.replace("<", " ").strip())


def _td1(lines: list[str]) -> Mrz:
    l1, l2, l3 = lines
    number, number_check, optional1 = l1[5:14], l1[14], l1[15:30]
    if number_check == "<" and optional1.strip("<"):
        # a document number longer than 9 characters continues in the optional data,
        # followed by its check digit and a filler
        tail = optional1.rstrip("<")
        number, number_check = number + tail[:-1], tail[-1]
    checks = {
        "document_number": check_digit(number) == number_check,
        "birth_date": check_digit(l2[0:6]) == l2[6],
        "expiry_date": check_digit(l2[8:14]) == l2[14],
        "composite": check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]) == l2[29],
    }
    surname, given = _names(l3)
    return Mrz(
        "TD1",
        tuple(lines),
        l1[0],
        l1[2:5],
        surname,
        given,
        number.replace("<", ""),
        l2[15:18],
        l2[0:6],
        l2[7],
        l2[8:14],
        checks,
    )


def _td2_td3(kind: str, lines: list[str]) -> Mrz:
    l1, l2 = lines
    surname, given = _names(l1[5:])
    checks = {
        "document_number": check_digit(l2[0:9]) == l2[9],
        "birth_date": check_digit(l2[13:19]) == l2[19],
        "expiry_date": check_digit(l2[21:27]) == l2[27],
    }
    if kind == "TD3":
        personal = l2[28:42]
        # an empty personal number may have '<' as its check digit
        checks["personal_number"] = check_digit(personal) == l2[42] or (not personal.strip("<") and l2[42] == "<")
        checks["composite"] = check_digit(l2[0:10] + l2[13:20] + l2[21:43]) == l2[43]
    else:
        checks["composite"] = check_digit(l2[0:10] + l2[13:20] + l2[21:35]) == l2[35]
    return Mrz(
        kind,
        tuple(lines),
        l1[0],
        l1[2:5],
        surname,
        given,
        l2[0:9].replace("<", ""),
        l2[10:13],
        l2[13:19],
        l2[20],
        l2[21:27],
        checks,
    )


def parse(text: str | list[str]) -> Mrz | None:
    """A zone from its lines (a string with line breaks, or a list), or None when the text
    does not have an MRZ's shape. Check digits are reported, not required: see `valid`."""
    lines = _split(text)
    kind = kind_of(lines)
    if kind is None or not all(_CHARSET.match(line) for line in lines):
        return None
    if lines[0][0] not in "PIACV" or not _fits_template(kind, lines):
        return None
    if "<<" not in (lines[2] if kind == "TD1" else lines[0][5:]):
        return None  # no surname/given-name separator: not a name field
    return _td1(lines) if kind == "TD1" else _td2_td3(kind, lines)


def _fix_line(line: str, template: str) -> str:
    chars = list(line)
    for i, (ch, cls) in enumerate(zip(chars, template, strict=False)):
        if cls == "a":
            chars[i] = TO_LETTER.get(ch, ch)
        elif cls == "d" and ch != "<":
            chars[i] = TO_DIGIT.get(ch, ch)
        elif cls == "c" and ch not in "<0123456789":
            chars[i] = TO_DIGIT.get(ch, "<")
        elif cls == "s" and ch not in "MFX<":
            chars[i] = "<"
    fixed = "".join(chars)
    # a filler read as K or C between fillers: "<<K<<" -> "<<<<<"
    return re.sub(r"(?<=<)[KC](?=<)", "<", fixed)


def normalise_ocr(text: str) -> str:
    """OCR text of one MRZ line: upper case, no spaces, '«' as '<<', other symbols as '<'."""
    text = text.upper().replace("«", "<<").replace("\u2039", "<").replace(" ", "")
    return re.sub(r"[^A-Z0-9<]", "<", text)


def correct(lines: list[str], kind: str) -> list[str]:
    """OCR lines of a zone of `kind`, padded or trimmed to length and fixed by position."""
    length, count = LENGTHS[kind]
    out = []
    for line, template in zip(lines[:count], TEMPLATES[kind], strict=False):
        line = normalise_ocr(line)
        if len(line) > length:
            stripped = line.rstrip("<")
            line = stripped[:length] if len(stripped) <= length else line[:length]
        out.append(_fix_line(line.ljust(length, "<"), template))
    return out


# --- a zone as a provider gives it (Textract's MRZ_CODE field) ------------------------------


def read(text: str | list[str]) -> Mrz | None:
    """A zone from a provider's text: `parse` as it is, or else (when the lines have a zone's
    count and nearly its length) `parse` after `correct` by position. None when the text is no
    zone. Check digits are reported, not required: see `Mrz.valid`."""
    zone = parse(text)
    if zone is not None:
        return zone
    lines = [normalise_ocr(line) for line in _split(text)]
    for kind, (length, count) in LENGTHS.items():
        if len(lines) == count and all(abs(len(line) - length) <= 2 for line in lines):
            return parse(correct(lines, kind))
    return None


# Textract field names of what a zone holds, and whether a check digit covers each.
CHECKED_FIELDS = {"DOCUMENT_NUMBER": "document_number", "DATE_OF_BIRTH": "birth_date", "EXPIRATION_DATE": "expiry_date"}


def textract_fields(zone: Mrz, today: date) -> dict[str, str]:
    """The zone's fields named as Textract AnalyzeID names them: LAST_NAME, FIRST_NAME (the
    given names), DOCUMENT_NUMBER, DATE_OF_BIRTH and EXPIRATION_DATE (YYYY-MM-DD, two-digit
    years resolved against `today`). Empty or unreadable fields are left out."""
    birth, expiry = zone.birth(today), zone.expiry(today)
    out = {
        "LAST_NAME": zone.surname,
        "FIRST_NAME": zone.given_names,
        "DOCUMENT_NUMBER": zone.document_number,
        "DATE_OF_BIRTH": birth.isoformat() if birth else "",
        "EXPIRATION_DATE": expiry.isoformat() if expiry else "",
    }
    return {name: value for name, value in out.items() if value}
