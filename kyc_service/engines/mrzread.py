"""Machine-readable zones (ICAO 9303 TD1, TD2, TD3) found in OCR output.

OCR of an MRZ confuses '<' with K/C/« and O/0, I/1, S/5, B/8, Z/2: every character is
corrected by its position (digits where the format has digits, letters where it has
letters), and check digits are verified with the `mrz` package. A document number whose
check digit fails is retried with the ambiguous characters swapped.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from .fields import Field, make_date

TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "T": "1", "Z": "2",
            "S": "5", "B": "8", "G": "6", "A": "4"}
TO_ALPHA = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G", "4": "A"}
# Only the commonest confusions: wider swap sets let a wrong number pass by chance.
SWAPS = {"0": "O", "O": "0", "1": "I", "I": "1"}
LENGTHS = {"TD3": (44, 2), "TD2": (36, 2), "TD1": (30, 3)}

# Per format and line: a string with one class per position:
# a = letter or '<', d = digit, x = letter/digit/'<', c = digit or '<', s = sex (M/F/X/<)
TEMPLATES = {
    "TD3": ("aa" + "aaa" + "a" * 39,
            "x" * 9 + "d" + "aaa" + "d" * 6 + "d" + "s" + "d" * 6 + "d" + "x" * 14 + "c" + "d"),
    "TD2": ("aa" + "aaa" + "a" * 31,
            "x" * 9 + "d" + "aaa" + "d" * 6 + "d" + "s" + "d" * 6 + "d" + "x" * 7 + "d"),
    "TD1": ("aa" + "aaa" + "x" * 9 + "c" + "x" * 15,
            "d" * 6 + "d" + "s" + "d" * 6 + "d" + "aaa" + "x" * 11 + "d",
            "a" * 30),
}
DOC_NUMBER_SPAN = {"TD3": (1, 0, 9), "TD2": (1, 0, 9), "TD1": (0, 5, 14)}  # (line, start, end)


@dataclass
class MrzResult:
    kind: str
    lines: list[str]
    valid: bool
    fields: dict[str, Field]
    failed_checks: list[str]


def normalise(text: str) -> str:
    text = text.upper().replace("«", "<<").replace("‹", "<").replace(" ", "")
    return re.sub(r"[^A-Z0-9<]", "<", text)


def _candidates(texts: list[str]) -> list[str]:
    out = []
    for t in texts:
        n = normalise(t)
        if len(n) >= 26 and (n.count("<") >= 2 or re.match(r"^[PIACV][A-Z<]", n)):
            out.append(n)
    return out


def _fit(line: str, length: int) -> str:
    if len(line) > length:
        stripped = line.rstrip("<")
        line = stripped[:length] if len(stripped) <= length else line[:length]
    return line.ljust(length, "<")


def _fix(line: str, template: str) -> str:
    chars = list(line)
    for i, (ch, cls) in enumerate(zip(chars, template)):
        if cls == "a":
            chars[i] = TO_ALPHA.get(ch, ch)
        elif cls == "d" and ch != "<":
            chars[i] = TO_DIGIT.get(ch, ch)
        elif cls == "c" and ch not in "<0123456789":
            chars[i] = TO_DIGIT.get(ch, "<")
        elif cls == "s" and ch not in "MFX<":
            chars[i] = "<"
    fixed = "".join(chars)
    if "a" in template[5:]:
        # filler read as K or C between fillers: "<<K<<" -> "<<<<<"
        fixed = re.sub(r"(?<=<)[KC](?=<)", "<", fixed)
    return fixed


def _checker(kind: str):
    from mrz.checker.td1 import TD1CodeChecker
    from mrz.checker.td2 import TD2CodeChecker
    from mrz.checker.td3 import TD3CodeChecker

    return {"TD1": TD1CodeChecker, "TD2": TD2CodeChecker, "TD3": TD3CodeChecker}[kind]


def _check(kind: str, lines: list[str]):
    checker = _checker(kind)("\n".join(lines))
    return checker, [name for name, ok in checker.report.falses]


def _retry_document_number(kind: str, lines: list[str]):
    """Swap O/0, I/1 ... in the document number until its check digit holds."""
    li, start, end = DOC_NUMBER_SPAN[kind]
    number = lines[li][start:end]
    positions = [i for i, ch in enumerate(number) if ch in SWAPS][:4]
    for r in range(1, len(positions) + 1):
        for combo in itertools.combinations(positions, r):
            chars = list(number)
            for i in combo:
                chars[i] = SWAPS[chars[i]]
            trial = list(lines)
            trial[li] = trial[li][:start] + "".join(chars) + trial[li][end:]
            checker, failed = _check(kind, trial)
            if not failed:
                return trial, checker, failed
    return None


def _date(yymmdd: str, future: bool):
    if not re.fullmatch(r"\d{6}", yymmdd or ""):
        return None
    from datetime import date as _d

    yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    this = _d.today().year % 100
    century = 2000 if (future and yy < 80) or (not future and yy <= this) else 1900
    return make_date(century + yy, mm, dd)


def _to_fields(kind: str, lines: list[str], checker, confidence: float) -> dict[str, Field]:
    f = checker.fields()
    out: dict[str, Field] = {}
    if f.surname:
        out["LAST_NAME"] = Field(f.surname.replace("<", " ").strip(), confidence)
    given = (f.name or "").replace("<", " ").split()
    if given:
        out["FIRST_NAME"] = Field(given[0], confidence)
        if len(given) > 1:
            out["MIDDLE_NAME"] = Field(" ".join(given[1:]), confidence)
    if f.document_number:
        out["DOCUMENT_NUMBER"] = Field(f.document_number.replace("<", ""), confidence)
    dob = _date(f.birth_date, future=False)
    if dob:
        out["DATE_OF_BIRTH"] = Field(dob.strftime("%d %b %Y").upper(), confidence, dob)
    exp = _date(f.expiry_date, future=True)
    if exp:
        out["EXPIRATION_DATE"] = Field(exp.strftime("%d %b %Y").upper(), confidence, exp)
    out["ID_TYPE"] = Field("PASSPORT" if lines[0].startswith("P") else "ID CARD", confidence)
    out["MRZ_CODE"] = Field("\n".join(lines), confidence)
    return out


def parse_lines(lines: list[str], confidence: float = 99.0) -> MrzResult | None:
    """Parse already-separated MRZ lines (2 or 3), correcting by position."""
    lines = [normalise(line) for line in lines]
    kind = None
    if len(lines) == 3:
        kind = "TD1"
    elif len(lines) == 2:
        longest = max(len(line) for line in lines)
        kind = "TD3" if longest >= 40 else "TD2"
    if kind is None:
        return None
    length, _ = LENGTHS[kind]
    fixed = [_fix(_fit(line, length), t) for line, t in zip(lines, TEMPLATES[kind])]
    try:
        checker, failed = _check(kind, fixed)
        if "document number hash" in failed:
            retry = _retry_document_number(kind, fixed)
            if retry:
                fixed, checker, failed = retry
    except Exception:  # malformed beyond the checker's tolerance
        return None
    valid = not failed
    conf = confidence if valid else min(confidence, 50.0)
    return MrzResult(kind, fixed, valid, _to_fields(kind, fixed, checker, conf), failed)


def find_mrz(texts: list[str], confidence: float = 99.0) -> MrzResult | None:
    """Locate and parse an MRZ among OCR row texts (top to bottom)."""
    cands = _candidates(texts)
    best = None
    for size in (2, 3):
        for i in range(len(cands) - size + 1):
            group = cands[i:i + size]
            result = parse_lines(group, confidence)
            if result and (best is None or (result.valid and not best.valid)):
                best = result
                if result.valid:
                    return best
    return best
