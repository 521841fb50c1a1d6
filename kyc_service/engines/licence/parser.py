"""Printed-text parser for US driver licence and ID card fronts, on OCR boxes with geometry.

What it relies on is what US cards have in common, never one card:
- Labels (`layout.py`): AAMVA field numbers (1 family name, 2 given names, 3 DOB, 4a issue,
  4b expiry, 4d number, 8 address, 5 DD, 9 class, 12 restrictions, 15-19) and the words states
  print instead (DLN, DL, LIC#, NO., NUMBER, IDN, CREDENTIAL IDENTIFIER, DOB, EXP, ISS, LN, FN,
  FAMILY NAME, GIVEN NAMES ...). A value is taken in the label's box, to its right on the same
  row, or under it. Label words are never values.
- The address block: "CITY, ST 12345" with the street line above it. The holder's name lines
  sit directly above the street line, aligned with it, on every layout; where their labels
  are missing or illegible they are taken from there. Their order: a label where one is
  legible; a comma ("SAMPLE, JOHN Q" = family, given); the holder's signature (written
  given name first) when the recogniser read it; otherwise the AAMVA order (family line,
  then given-names line).
- Dates: by their label where it is legible and the labelled dates are plausible (birth before
  issue before expiry); otherwise by order: the earliest plausible date is the birth date, the
  latest the expiry. Revision, replacement and DD dates are not the holder's; two-digit-year
  ghost dates ("01/01/74") are ignored.
- Document numbers keep their letters. Where the issuing state is known (its name at the top
  of the card, else the address's state code) the number is read by the state's published
  format (`dlformats.py`): OCR look-alikes (1/I, 0/O, 5/S ...) are corrected only to fit it.
  An unlabelled number is looked for by the state's format, then by shape (top of the card
  first).

Confidence follows `fields.calibrated`: a value at its label passing its pattern keeps its OCR
score; values placed by position or order alone, or failing the state's format, stay below 85.
"""

from __future__ import annotations

import re

from ..fields import US_STATES, Field, calibrated
from ..layout import OTHER, Layout
from .address import find_address, id_type, read_address_fields, state
from .dates import read_dates
from .names import read_names
from .numbers import read_numbers
from .reading import Reading, label_owners, usable


def parse(boxes, width: float = 0.0, height: float = 0.0, reread=None) -> Reading:
    """Read a licence front from OCR boxes (`ocr.Line`s in upright page coordinates).

    `reread(box) -> [text]` (optional): the box recognised again; used for a second look at a
    labelled document number that fails its state's published format."""
    boxes = [b for b in boxes if usable(b)]
    lay = Layout.of(boxes, width, height)
    out = Reading()
    if not boxes:
        return out
    out.texts = [b.text.upper() for b in boxes] + [s.text for b in boxes for s in lay.of_box(b) if s.kind == "value"]
    owners = label_owners(lay)
    city, street_boxes = find_address(lay)
    out.state = state(lay, city)
    read_numbers(lay, owners, out, city, street_boxes, reread)
    read_dates(lay, owners, out)
    read_names(lay, owners, out, street_boxes, reread)
    read_address_fields(lay, out, city, street_boxes)
    _codes(lay, owners, out)
    if out.fields:
        if out.state:
            out.fields["STATE_NAME"] = Field(US_STATES.get(out.state, out.state), 95.0)
        out.fields["ID_TYPE"] = Field(id_type(lay), 95.0)
    return out


def parse_rows(rows: list[list]) -> dict[str, Field]:
    """Fields from OCR rows (lists of `ocr.Line`): the boxes of all rows, read by `parse`."""
    return parse([b for row in rows for b in row]).fields


def _codes(lay: Layout, owners, out: Reading) -> None:
    names = (
        ("CLASS", r"CLASS|CL"),
        ("RESTRICTIONS", r"RESTRICTIONS?|RESTR?|RES|RSTR|RE"),
        ("ENDORSEMENTS", r"ENDORSEMENTS?|ENDORSE|END|EN"),
    )
    for lab in lay.labels(OTHER):
        word = lab.word.strip(".:# ")
        for name, rx in names:
            if name in out.fields or not re.fullmatch(rx, word):
                continue
            for seg, how in lay.values_for(lab):
                if how == "below":
                    continue
                token = seg.text.split()[0].strip(".,:") if seg.text.split() else ""
                if re.fullmatch(r"[A-Z0-9]{1,4}", token):
                    out.fields[name] = Field(token, calibrated(seg.box.confidence, True))
                    break
