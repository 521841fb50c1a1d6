"""Printed fields of a passport data page (label row, then value row), for cross-checking
against the MRZ. Labels follow ICAO 9303's visual zone ("Surname", "Given names",
"Date of birth", "Date of expiry", "Passport No.")."""
from __future__ import annotations

import re

from .fields import Field, make_date

MONTHS = {m: i + 1 for i, m in enumerate(
    "JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
PRINTED_DATE = re.compile(r"(\d{1,2})\s*([A-Z]{3})[A-Z/ ]*?\s*(\d{4})")
LABELS = (
    ("SURNAME", "LAST_NAME"), ("GIVEN NAME", "GIVEN"), ("DATE OF BIRTH", "DATE_OF_BIRTH"),
    ("DATE OF EXPIRY", "EXPIRATION_DATE"), ("DATE OF ISSUE", "DATE_OF_ISSUE"),
    ("PASSPORT NO", "DOCUMENT_NUMBER"), ("PLACE OF BIRTH", "PLACE_OF_BIRTH"),
)


def _date(text: str):
    m = PRINTED_DATE.search(text.upper().replace("0CT", "OCT"))
    if not m or m.group(2) not in MONTHS:
        return None
    return make_date(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)))


def parse_rows(rows: list[list]) -> dict[str, Field]:
    texts = [(" ".join(b.text for b in row).upper().strip(), min(b.confidence for b in row))
             for row in rows]
    out: dict[str, Field] = {}
    for i, (text, _) in enumerate(texts[:-1]):
        for label, name in LABELS:
            if label not in text or name in out:
                continue
            value, conf = texts[i + 1]
            if name in ("DATE_OF_BIRTH", "EXPIRATION_DATE", "DATE_OF_ISSUE"):
                d = _date(value)
                if d:
                    out[name] = Field(value, conf, d)
            elif name == "DOCUMENT_NUMBER":
                out[name] = Field(value.split()[-1], conf)
            elif name == "PLACE_OF_BIRTH":
                parts = value.split(maxsplit=1)
                if len(parts) == 2 and parts[0] in ("M", "F", "X"):
                    out[name] = Field(parts[1], conf)
            elif name == "GIVEN":
                given = value.split()
                if given:
                    out["FIRST_NAME"] = Field(given[0], conf)
                    if len(given) > 1:
                        out["MIDDLE_NAME"] = Field(" ".join(given[1:]), conf)
            else:
                out[name] = Field(value, conf)
    return out
