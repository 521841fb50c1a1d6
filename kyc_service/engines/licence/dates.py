"""Dates: by their label where legible and plausible, else by order (earliest = birth, latest =
expiry); revision, replacement, DD and two-digit ghost dates are not the holder's.
"""

from __future__ import annotations

import re
from datetime import date

from ..fields import AT_LABEL, BY_POSITION, Field, calibrated, make_date
from ..layout import DOB, EXP, IGNORE_DATE, ISS, Layout
from .reading import Reading, values

DATE_RE = re.compile(r"(\d{1,2})\s?[/\-.]\s?(\d{1,2})\s?[/\-.]\s?((?:19|20)\d{2})")


MONTHS = {
    m: i + 1 for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
}


WORD_DATE_RE = re.compile(
    r"(\d{1,2})\s?(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]*"
    r"\.?\s?((?:19|20)\d{2})"
)


def find_dates(text: str):
    """[(date, raw)] of the full dates in `text` (MM/DD/YYYY, MM-DD-YYYY, 15 MAR 1996)."""
    found = []
    for m in DATE_RE.finditer(text):
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        d = make_date(y, a, b) or (make_date(y, b, a) if a > 12 else None)
        if d:
            found.append((d, m.group(0)))
    for m in WORD_DATE_RE.finditer(text):
        d = make_date(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)))
        if d:
            found.append((d, m.group(0)))
    return found


def _years_between(a: date, b: date) -> float:
    return (b - a).days / 365.25


def read_dates(lay: Layout, owners, out: Reading) -> None:
    today = date.today()
    labelled: dict[str, list] = {DOB: [], EXP: [], ISS: []}
    pool = []
    for seg in values(lay):
        owner = owners.get(id(seg))
        key = owner[0].key if owner else None
        for d, raw in find_dates(seg.text):
            if key == IGNORE_DATE:
                continue
            item = (d, raw, seg.box.confidence)
            if key in labelled:
                labelled[key].append(item)
            pool.append(item)
    picked: dict[str, tuple] = {}
    for key, items in labelled.items():
        if items:
            picked[key] = items[0]
    dob, exp, iss = picked.get(DOB), picked.get(EXP), picked.get(ISS)
    # labels that contradict the dates (a birth in the future or after the issue, an expiry
    # less than ten years after the birth) are misread: all dates are then placed by order
    if (
        (dob and (dob[0] > today or dob[0].year < 1900))
        or (dob and exp and _years_between(dob[0], exp[0]) < 10)
        or (dob and iss and iss[0] <= dob[0])
        or (iss and exp and exp[0] < iss[0])
    ):
        dob = exp = iss = None
    at = {DOB: dob is not None, EXP: exp is not None, ISS: iss is not None}
    distinct = sorted({d: (d, raw, c) for d, raw, c in pool}.values(), key=lambda x: x[0])
    if dob is None:
        latest = exp[0] if exp else (distinct[-1][0] if distinct else None)
        births = [x for x in distinct if x[0] <= today and latest and _years_between(x[0], latest) >= 10]
        dob = births[0] if births else None
    if exp is None and dob is not None:
        later = [x for x in distinct if _years_between(dob[0], x[0]) >= 10]
        exp = later[-1] if later else None
    if iss is None and dob is not None and exp is not None:
        between = [x for x in distinct if dob[0] < x[0] < exp[0] and _years_between(dob[0], x[0]) >= 10]
        iss = between[-1] if between else None
    for key, name, item in ((DOB, "DATE_OF_BIRTH", dob), (EXP, "EXPIRATION_DATE", exp), (ISS, "DATE_OF_ISSUE", iss)):
        if item is None:
            continue
        d, raw, conf = item
        out.fields[name] = Field(raw, calibrated(conf, at[key]), d, AT_LABEL if at[key] else BY_POSITION, raw)
        out.slots[name] = [raw]
