"""Printed fields of passport data pages (ICAO 9303 visual zone) and of the US passport card.

Labels are ICAO's (English, with the French and Spanish that many passports print beside
them: "Surname / Nom / Apellidos", "Given names / Prénoms", "Date of birth / Date de
naissance", "Date of expiry" or the US "Date of expiration", "Passport No.", "Passport Card
no.", "Expires on"); each value is the text under its label (or after it in the same box).
Dates are day-first: "15 MAR 1996", "15 MAR/MARS 1996", "15.03.1996".

Measured only on generated pages here (no real passport is in the shared fixtures): accuracy
on real passports is measured from outside.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from .fields import AT_LABEL, Field, calibrated, make_date
from .layout import Layout, Segment

MONTHS = {
    m: i + 1 for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
}
# French/Spanish/German month abbreviations seen beside the English ones
MONTHS.update(
    {
        "FEV": 2,
        "AVR": 4,
        "MAI": 5,
        "JUI": 6,
        "AOU": 8,
        "ENE": 1,
        "ABR": 4,
        "AGO": 8,
        "DIC": 12,
        "OKT": 10,
        "DEZ": 12,
        "MRZ": 3,
    }
)
WORD_DATE = re.compile(r"(\d{1,2})\s*([A-Z]{3})[A-Z]*\.?(?:\s*/\s*[A-Z]{3,5}\.?)?\s*((?:19|20)\d{2})")
NUMERIC_DATE = re.compile(r"(\d{1,2})\s?[./\-]\s?(\d{1,2})\s?[./\-]\s?((?:19|20)\d{2})")

LABELS: list[tuple[str, re.Pattern]] = [
    (key, re.compile(rx))
    for key, rx in (
        ("NUMBER", r"PASSPORT\s*(?:CARD\s*)?(?:NO|NUMBER|N[O0°º])|PASSEPORT\s*N|CARD\s*NO\b|DOCUMENT\s*NO\b"),
        ("LAST", r"SURNAME|\bNOM\b|APELLIDOS|FAMILY\s*NAME"),
        ("GIVEN", r"GIVEN\s*NAMES?|PRENOMS|\bNOMBRES\b|FIRST\s*NAME"),
        ("DOB", r"DATE\s*OF\s*BIRTH|DATE\s*DE\s*NAISSANCE|BIRTH\s*DATE|FECHA\s*DE\s*NACIMIENTO"),
        ("EXP", r"DATE\s*OF\s*EXPIR|EXPIRES?\s*(?:ON)?\b|EXPIRY|DATE\s*D.?\s*EXPIRATION|VALID\s*UNTIL"),
        ("ISS", r"DATE\s*OF\s*ISSUE|ISSUED\s*ON|DATE\s*DE\s*DELIVRANCE|FECHA\s*DE\s*EXPEDICION"),
        (
            "OTHER",
            r"NATIONALITY|NATIONALITE|\bSEX\b|PLACE\s*OF\s*BIRTH|AUTHORITY|\bTYPE\b|\bCODE\b"
            r"|SIGNATURE|HOLDER|LIEU\s*DE\s*NAISSANCE|\bSEXE\b",
        ),
    )
]
PASSPORT_WORDS = re.compile(r"PASSPORT|PASSEPORT|PASAPORTE|REISEPASS")


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", text.upper()).strip()


def looks_like_passport(boxes) -> bool:
    texts = [_plain(b.text) for b in boxes]
    if any(PASSPORT_WORDS.search(t) for t in texts):
        return True
    # licences print family and given names too, never a nationality
    return any(re.search(r"NATIONALIT", t) for t in texts)


def parse_date(text: str) -> tuple[date, str] | None:
    t = _plain(text).replace("0CT", "OCT")
    m = WORD_DATE.search(t)
    if m and m.group(2) in MONTHS:
        d = make_date(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)))
        if d:
            return d, m.group(0)
    m = NUMERIC_DATE.search(t)
    if m:
        d = make_date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        if d:
            return d, m.group(0)
    return None


# Whole-box labels matched with one or two misread letters ("SUMNAME"): (text, key)
FUZZY_LABELS = [
    ("SURNAME", "LAST"),
    ("GIVEN NAMES", "GIVEN"),
    ("GIVEN NAME", "GIVEN"),
    ("DATE OF BIRTH", "DOB"),
    ("DATE OF EXPIRY", "EXP"),
    ("DATE OF EXPIRATION", "EXP"),
    ("EXPIRES ON", "EXP"),
    ("DATE OF ISSUE", "ISS"),
    ("ISSUED ON", "ISS"),
    ("PASSPORT NO", "NUMBER"),
    ("PASSPORT CARD NO", "NUMBER"),
    ("NATIONALITY", "OTHER"),
    ("PLACE OF BIRTH", "OTHER"),
]


def _labels_in(box):
    """[(key, start, end)] of the labels in a box's text, in order."""
    t = _plain(box.text)
    found = []
    for key, rx in LABELS:
        for m in rx.finditer(t):
            found.append((key, m.start(), m.end()))
    if not found and len(t) >= 6 and not re.search(r"\d", t):
        from rapidfuzz import fuzz

        whole = t.strip(" .:/")
        for label, key in FUZZY_LABELS:
            if fuzz.ratio(whole, label) >= 85:
                found.append((key, 0, len(t)))
                break
    found.sort(key=lambda f: f[1])
    return t, found


def _is_label_box(box) -> bool:
    t, found = _labels_in(box)
    if not found:
        return False
    rest = t
    for _, s, e in sorted(found, key=lambda f: -f[1]):
        rest = rest[:s] + rest[e:]
    # what is left of a label box is separators and translations, not a value with digits
    return not re.search(r"\d{3}", rest)


def parse(boxes, width: float = 0.0, height: float = 0.0) -> dict[str, Field]:
    """Printed fields from the OCR boxes of a passport page or passport card."""
    boxes = [b for b in boxes if b.text.strip()]
    lay = Layout.of(boxes, width, height)
    label_ids = {id(b) for b in boxes if _is_label_box(b)}
    out: dict[str, Field] = {}

    def value_of(box, key, start, end, next_start):
        """Candidate values for a label at [start, end) of `box`'s text: what follows it in
        the box (up to the next label), then the box under it."""
        t = _plain(box.text)
        after = t[end:next_start].strip(" /.:,")
        n = max(len(t), 1)
        x0 = box.x0 + (box.x1 - box.x0) * start / n
        x1 = box.x0 + (box.x1 - box.x0) * end / n
        pseudo = Segment("label", key, t[start:end], x0, x1, box)
        below = lay.below(pseudo, reach=1.2)
        cands = []
        if after:
            cands.append((after, box.confidence))
        if below is not None and id(below.box) not in label_ids:
            cands.append((below.box.text, below.box.confidence))
        return cands

    for box in boxes:
        if id(box) not in label_ids:
            continue
        t, found = _labels_in(box)
        for i, (key, start, end) in enumerate(found):
            if key == "OTHER":
                continue
            next_start = found[i + 1][1] if i + 1 < len(found) else len(t)
            for text, conf in value_of(box, key, start, end, next_start):
                _take(out, key, text, conf)
                if _done(out, key):
                    break
    if out:
        out.setdefault("ID_TYPE", Field("PASSPORT", 95.0))
        if any("CARD" in _plain(b.text) and PASSPORT_WORDS.search(_plain(b.text)) for b in boxes):
            out["ID_TYPE"] = Field("ID CARD", 95.0)
    return out


_NAMES = {
    "NUMBER": "DOCUMENT_NUMBER",
    "LAST": "LAST_NAME",
    "DOB": "DATE_OF_BIRTH",
    "EXP": "EXPIRATION_DATE",
    "ISS": "DATE_OF_ISSUE",
}


def _done(out, key) -> bool:
    return (_NAMES.get(key) in out) if key != "GIVEN" else "FIRST_NAME" in out


def _take(out: dict, key: str, text: str, conf: float) -> None:
    if _done(out, key):
        return
    plain = _plain(text)
    if key in ("DOB", "EXP", "ISS"):
        found = parse_date(plain)
        if found:
            out[_NAMES[key]] = Field(found[1], calibrated(conf, True), found[0], AT_LABEL, text)
    elif key == "NUMBER":
        tokens = [
            t
            for t in re.split(r"[\s/]+", plain)
            if re.fullmatch(r"[A-Z0-9]{6,12}", t) and sum(c.isdigit() for c in t) >= 4
        ]
        if tokens:
            out["DOCUMENT_NUMBER"] = Field(tokens[-1], calibrated(conf, True), source=AT_LABEL, raw=text)
    elif key in ("LAST", "GIVEN"):
        name = re.sub(r"[^A-Z' \-]", " ", plain)
        name = re.sub(r"\s+", " ", name).strip()
        if len(name.replace(" ", "")) < 2 or not re.search(r"[A-Z]{2}", name):
            return
        printed = re.sub(r"\s+", " ", text.upper()).strip()
        if key == "LAST":
            out["LAST_NAME"] = Field(
                printed if _plain(printed) == name else name, calibrated(conf, True), source=AT_LABEL, raw=text
            )
        else:
            words = printed.split()
            out["FIRST_NAME"] = Field(words[0], calibrated(conf, True), source=AT_LABEL, raw=text)
            if len(words) > 1:
                out["MIDDLE_NAME"] = Field(" ".join(words[1:]), calibrated(conf, True), source=AT_LABEL, raw=text)
