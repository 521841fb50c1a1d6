"""Printed-text parser for US driving licence / ID card fronts.

Works on OCR rows (see `ocr.rows`) using the AAMVA card design's field numbers
(4d DLN, 1 family name, 2 given names, 8 address, 3 DOB, 4a issue, 4b expiry, 9 class,
9a endorsements, 12 restrictions) and value patterns, not on labels alone:
- dates are placed by label when one is legible, else by order (earliest = birth,
  latest = expiry, the one between = issue);
- the address is the line after field 8, then "CITY, ST 12345(-6789)";
- common OCR confusions in field numbers and labels (l/I/| for 1, Z for 2, B for 8,
  0 for O) are tolerated.
"""
from __future__ import annotations

import re

from .fields import Field, US_STATES, make_date

NAME_RE = re.compile(r"^[A-Z][A-Z' .\-]*[A-Z]$")
CITY_RE = re.compile(r"^(?P<city>[A-Z][A-Z .'\-]*?)[,.]?\s+(?P<state>[A-Z]{2})[,.]?\s+"
                     r"(?P<zip>\d{5})(?:\s*-?\s*(?P<plus4>\d{4}))?\b")
DATE_RE = re.compile(r"(?<!\d)(\d{2})\s?[/\-.]\s?(\d{2})\s?[/\-.]\s?(\d{4})(?!\d)")
LOOSE_DATE_RE = re.compile(r"(?<!\d)(\d{2})[^\dA-Z]?(\d{2})[^\dA-Z]?(\d{4})(?!\d)")
DLN_RE = re.compile(r"(?:\b4\s?D\b\s*)?\b(?:DLN|DL|LIC|LICENSE\s+NO|NO)[\s:.#]*"
                    r"(?P<dln>[A-Z0-9][A-Z0-9\-]{2,24}(?:\s\d[\d\-]*)*)")
DIGIT_TO_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G"})
ORDINAL = re.compile(r"^\d+(ST|ND|RD|TH)$")
SUFFIXES = {"JR", "SR", "II", "III", "IV", "V"}
LABEL_DOB = re.compile(r"(?:\b3\s*)?\b(D[O0Q]B|B[I1]RTH|D\.O\.B)")
LABEL_ISS = re.compile(r"(?:\b4\s?A\b|\bISS|\bISSUED)")
LABEL_EXP = re.compile(r"(?:\b4\s?B\b|\bEXP|\bEXPIRES)")
STOP_LABELS = re.compile(r"\s+\b(?:15|16|17|18|19|9A?|12)\s+(?:SEX|HGT|WGT|EYES|HAIR|CLASS|END|RESTR)\b.*$")


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text.upper().replace("|", "1")).strip()


def _prefixed(text: str, numbers: tuple[str, ...]) -> str | None:
    """The text after a leading field number (with OCR look-alikes), or None."""
    for num in numbers:
        sep = r"(?:\s+|(?=[A-Z]{2}))" if num.isdigit() else r"\s+"
        m = re.match(rf"^{num}{sep}(.+)$", text)
        if m:
            return m.group(1).strip()
    return None


def _letters(word: str) -> str:
    """A word that should be letters: map OCR digit look-alikes back (0->O, 1->I ...)."""
    return word.translate(DIGIT_TO_LETTER)


def _street(text: str) -> str:
    """House number kept; street words with stray digits (8244 0AK AVE) fixed."""
    words = text.split()
    fixed = [words[0]] if words else []
    for w in words[1:]:
        letters = sum(ch.isalpha() for ch in w)
        if letters and letters >= len(w) - 1 and not ORDINAL.match(w):
            w = _letters(w)
        fixed.append(w)
    return " ".join(fixed)


def _name_value(text: str) -> str | None:
    text = STOP_LABELS.sub("", text).strip(" .,:")
    text = " ".join(_letters(w) for w in text.split())
    text = re.sub(r"^(?:LN|FN|LAST|FIRST|NAME)\b[:\s]*", "", text)
    return text if NAME_RE.match(text) else None


def parse_rows(rows: list[list]) -> dict[str, Field]:
    """Fields from OCR rows of a licence front (each row a list of `ocr.Line`)."""
    lines = []  # (text, confidence)
    for row in rows:
        # drop specks: very short, unsure boxes (portrait edges, background pattern)
        row = [b for b in row if len(b.text.strip()) > 2 or b.confidence >= 80]
        if not row:
            continue
        text = _clean(" ".join(b.text for b in row))
        conf = min(b.confidence for b in row)
        lines.append((text, conf))
    out: dict[str, Field] = {}
    _document_number(lines, out)
    _names(lines, out)
    _address(lines, out)
    _dates(lines, out)
    _codes(lines, out)
    _state_name(lines, out)
    if out:
        out["ID_TYPE"] = Field("DRIVER LICENSE FRONT", 99.0)
    return out


def _document_number(lines, out):
    for text, conf in lines:
        m = DLN_RE.search(text)
        if m and sum(ch.isdigit() for ch in m.group("dln")) >= 4:
            value = STOP_LABELS.sub("", m.group("dln")).replace(" ", "")
            out["DOCUMENT_NUMBER"] = Field(value.strip("-"), conf)
            return


def _names(lines, out):
    for text, conf in lines:
        if "LAST_NAME" not in out:
            v = _prefixed(text, ("1", "I", "L"))
            if v and _name_value(v):
                out["LAST_NAME"] = Field(_name_value(v), conf)
                continue
        if "FIRST_NAME" not in out:
            v = _prefixed(text, ("2", "Z"))
            if v and _name_value(v):
                parts = _name_value(v).split()
                suffix = parts[-1] if len(parts) > 1 and parts[-1].rstrip(".") in SUFFIXES else None
                if suffix:
                    parts = parts[:-1]
                    out["SUFFIX"] = Field(suffix.rstrip("."), conf)
                out["FIRST_NAME"] = Field(parts[0], conf)
                if len(parts) > 1:
                    out["MIDDLE_NAME"] = Field(" ".join(parts[1:]), conf)


def _address(lines, out):
    for i, (text, conf) in enumerate(lines):
        m = CITY_RE.match(text)
        if not m or m.group("state") not in US_STATES:
            continue
        city = " ".join(_letters(w) for w in m.group("city").strip(" ,.").split())
        out["CITY_IN_ADDRESS"] = Field(city, conf)
        out["STATE_IN_ADDRESS"] = Field(m.group("state"), conf)
        zip_code = m.group("zip") + (f"-{m.group('plus4')}" if m.group("plus4") else "")
        out["ZIP_CODE_IN_ADDRESS"] = Field(zip_code, conf)
        if i > 0:
            prev, pconf = lines[i - 1]
            street = _prefixed(prev, ("8", "B")) or prev
            if re.match(r"^\d", street):
                out["ADDRESS"] = Field(_street(street), pconf)
        return


def _find_dates(lines):
    """[(date, text, confidence, label)] for every date-looking value, in reading order."""
    found = []
    for text, conf in lines:
        matches = list(DATE_RE.finditer(text)) or list(LOOSE_DATE_RE.finditer(text))
        last = 0
        for m in matches:
            mm, dd, yyyy = int(m.group(1)), int(m.group(2)), int(m.group(3))
            d = make_date(yyyy, mm, dd)
            if d is None or not 1900 <= yyyy <= 2100:
                continue
            before = text[last:m.start()]
            last = m.end()
            label = ("DOB" if LABEL_DOB.search(before) else "ISS" if LABEL_ISS.search(before)
                     else "EXP" if LABEL_EXP.search(before) else None)
            found.append((d, f"{mm:02d}/{dd:02d}/{yyyy}", conf, label))
    return found


def _dates(lines, out):
    found = _find_dates(lines)
    if not found:
        return
    names = {"DOB": "DATE_OF_BIRTH", "ISS": "DATE_OF_ISSUE", "EXP": "EXPIRATION_DATE"}
    labelled = {}
    for d, text, conf, label in found:
        if label and label not in labelled:
            labelled[label] = (d, text, conf)
    distinct = sorted({item[0]: item for item in found}.values(), key=lambda x: x[0])
    consistent = (len(labelled) == 3 and labelled["DOB"][0] < labelled["ISS"][0]
                  <= labelled["EXP"][0])
    if not consistent and len(distinct) >= 2:
        # labels misread or missing: place by order
        order = {"DOB": distinct[0], "EXP": distinct[-1]}
        if len(distinct) >= 3:
            order["ISS"] = distinct[-2]
        labelled = {k: v[:3] for k, v in order.items()}
    for label, (d, text, conf) in labelled.items():
        out[names[label]] = Field(text, conf, d)


def _codes(lines, out):
    joined = "\n".join(t for t, _ in lines)
    confs = {t: c for t, c in lines}
    patterns = {
        "CLASS": r"\b(?:9\s+)?CLASS[:\s]+([A-Z0-9]{1,3}?)(?=\s|9A\s*END|12\s*RESTR|$)",
        "ENDORSEMENTS": r"\b(?:9A\s+)?END[:\s]+([A-Z0-9]{1,6})\b",
        "RESTRICTIONS": r"\b(?:12\s+)?RESTR?[:\s]+([A-Z0-9]{1,6})\b",
    }
    for name, pattern in patterns.items():
        m = re.search(pattern, joined)
        if m:
            line = joined[:m.start()].count("\n")
            out[name] = Field(m.group(1).replace("N0NE", "NONE"), list(confs.values())[line])


def _state_name(lines, out):
    for text, conf in lines[:3]:
        for name in sorted(US_STATES.values(), key=len, reverse=True):
            if re.search(rf"\b{name}\b", text):
                out["STATE_NAME"] = Field(name, conf)
                return
