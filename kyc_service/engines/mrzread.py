"""Machine-readable zones (ICAO 9303 TD1, TD2, TD3) found in OCR boxes.

Parsing, check digits and position-based OCR correction are `chalicelib.domain.mrz`'s (shared with the
AWS path). This module only finds the zone's lines on the page, and believes a zone only when it
is one:
- each line is a row of the page whose recognised text has an MRZ's alphabet (A-Z, 0-9, '<',
  the recogniser's '«' for '<<'), no more than two spaces and at least one filler '<';
- the lines are consecutive rows of nearly equal length: 2 x 44 (TD3), 2 x 36 (TD2), 3 x 30 (TD1),
  within 3 characters before correction;
- `chalicelib.domain.mrz.parse` then refuses anything without the format's shape (document code,
  digits where the format has digits, the '<<' between surname and given names).
Prose, dates and labels never get that far. A zone whose check digits fail is returned with
`valid = False`: it is reported, never used over the printed fields.

A document number whose check digit fails is retried with O/0 and I/1 swapped (only those:
wider swap sets let a wrong number pass by chance).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date

from chalicelib.domain import mrz as icao

from .fields import MACHINE, Field

SWAPS = {"0": "O", "O": "0", "1": "I", "I": "1"}
NUMBER_SPAN = {"TD3": (1, 0, 9), "TD2": (1, 0, 9), "TD1": (0, 5, 14)}  # (line, start, end)
OUTSIDE_ALPHABET = re.compile(r"[^A-Z0-9<« ]")


@dataclass
class MrzReading:
    zone: icao.Mrz
    confidence: float

    @property
    def valid(self) -> bool:
        return self.zone.valid

    @property
    def lines(self) -> list[str]:
        return list(self.zone.lines)

    @property
    def failed_checks(self) -> list[str]:
        return self.zone.failed_checks

    def fields(self, today: date | None = None) -> dict[str, Field]:
        return to_fields(self.zone, self.confidence, today or date.today())


def _row_text(row) -> str:
    return "".join(b.text.strip() for b in row)


def _candidate(text: str) -> str | None:
    """The row's text as an MRZ line, or None when it cannot be one."""
    raw = text.upper().replace("\u2039", "<").replace("〈", "<")
    if raw.count(" ") > 2 or len(OUTSIDE_ALPHABET.findall(raw)) > 2:
        return None
    if raw.count("<") + raw.count("«") < 1:
        return None
    line = icao.normalise_ocr(raw)
    return line if 27 <= len(line) <= 47 else None


def _retry_number(kind: str, lines: list[str]) -> icao.Mrz | None:
    li, start, end = NUMBER_SPAN[kind]
    number = lines[li][start:end]
    positions = [i for i, ch in enumerate(number) if ch in SWAPS][:4]
    for r in range(1, len(positions) + 1):
        for combo in itertools.combinations(positions, r):
            chars = list(number)
            for i in combo:
                chars[i] = SWAPS[chars[i]]
            trial = list(lines)
            trial[li] = trial[li][:start] + "".join(chars) + trial[li][end:]
            zone = icao.parse(trial)
            if zone is not None and zone.valid:
                return zone
    return None


def parse_lines(lines: list[str]) -> icao.Mrz | None:
    """A zone from OCR'd lines (2 or 3), corrected by position; None if it is not a zone."""
    lines = [icao.normalise_ocr(line) for line in lines]
    kinds = []
    if len(lines) == 3:
        kinds = ["TD1"]
    elif len(lines) == 2:
        longest = max(len(line) for line in lines)
        kinds = ["TD3"] if longest >= 40 else ["TD2"]
    for kind in kinds:
        length, _ = icao.LENGTHS[kind]
        if any(abs(len(line) - length) > 3 for line in lines):
            continue
        fixed = icao.correct(lines, kind)
        zone = icao.parse(fixed)
        if zone is None:
            continue
        if not zone.valid and not zone.checks.get("document_number", True):
            zone = _retry_number(kind, fixed) or zone
        return zone
    return None


def find(boxes) -> MrzReading | None:
    """The machine-readable zone among OCR boxes (`ocr.Line`s), or None."""
    from .ocr import rows as group_rows

    rows = group_rows(list(boxes))
    cands = []
    for row in rows:
        line = _candidate(_row_text(row))
        if line is not None:
            cands.append((line, min(b.confidence for b in row), row))
    best = None
    for size in (2, 3):
        for i in range(len(cands) - size + 1):
            group = cands[i : i + size]
            # consecutive rows: no other row between them
            idx = [rows.index(g[2]) for g in group]
            if idx != list(range(idx[0], idx[0] + size)):
                continue
            zone = parse_lines([g[0] for g in group])
            if zone is None:
                continue
            conf = min(g[1] for g in group)
            reading = MrzReading(zone, min(conf, 99.0) if zone.valid else min(conf, 50.0))
            if zone.valid:
                return reading
            best = best or reading
    return best


def to_fields(zone: icao.Mrz, confidence: float, today: date) -> dict[str, Field]:
    out: dict[str, Field] = {}
    conf = round(confidence, 2)
    if zone.surname:
        out["LAST_NAME"] = Field(zone.surname, conf, source=MACHINE)
    given = zone.given_names.split()
    if given:
        out["FIRST_NAME"] = Field(given[0], conf, source=MACHINE)
        if len(given) > 1:
            out["MIDDLE_NAME"] = Field(" ".join(given[1:]), conf, source=MACHINE)
    if zone.document_number:
        out["DOCUMENT_NUMBER"] = Field(zone.document_number, conf, source=MACHINE)
    birth = zone.birth(today)
    if birth:
        out["DATE_OF_BIRTH"] = Field(birth.strftime("%d %b %Y").upper(), conf, birth, MACHINE)
    expiry = zone.expiry(today)
    if expiry:
        out["EXPIRATION_DATE"] = Field(expiry.strftime("%d %b %Y").upper(), conf, expiry, MACHINE)
    out["ID_TYPE"] = Field("PASSPORT" if zone.document_code == "P" else "ID CARD", conf, source=MACHINE)
    out["MRZ_CODE"] = Field(zone.text, conf, source=MACHINE)
    return out
