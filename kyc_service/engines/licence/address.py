"""The address block ("CITY, ST 12345" with the street line above it), the issuing state and the
card type.
"""

from __future__ import annotations

import re

from ..fields import US_STATES, Field, calibrated
from ..layout import ADDRESS, Layout
from .reading import CITY_RE, Reading, as_letters, label_only, strip_label

ADDRESS_LINE = re.compile(r"^(?:[#$]?\s*\d|APT|UNIT|STE|SUITE|#|P\.?\s?O\.?\s+BOX|ADDRESS|FLOOR)")


TITLE_ID_CARD = re.compile(r"IDENTIFICATION\s*CARD|\bID\s*CARD|IDENTIFICATION")


def state(lay: Layout, city) -> str | None:
    """The issuing state: its name at the top of the card, else the address's state code."""
    best = None
    for b in lay.boxes:
        if b.cy > 0.4 * lay.height:
            continue
        flat = re.sub(r"[^A-Z]", "", b.text.upper())
        for code, name in sorted(US_STATES.items(), key=lambda kv: -len(kv[1])):
            if name.replace(" ", "") in flat:
                if best is None or b.height > best[1]:
                    best = (code, b.height)
                break
    if best:
        return best[0]
    if city is not None:
        m = CITY_RE.match(city.text.upper())
        if m and m.group("state") in US_STATES:
            return m.group("state")
    return None


def id_type(lay: Layout) -> str:
    top = " ".join(b.text.upper() for b in lay.boxes if b.cy < 0.35 * lay.height)
    if TITLE_ID_CARD.search(top) and not re.search(r"DRIVER", top):
        return "ID CARD"
    return "DRIVER LICENSE FRONT"


def find_address(lay: Layout):
    """(city box, [address boxes from the street line down]) or (None, [])."""
    cities = []
    for b in lay.boxes:
        text = b.text.upper().strip()
        m = CITY_RE.match(text)
        if m and len(m.group("city").strip(" ,.")) >= 3:
            real = m.group("state") in US_STATES
            cities.append((not real, -b.cy, b))
    if not cities:
        return None, []
    city = sorted(cities, key=lambda c: (c[0], c[1]))[0][2]
    block = [city]
    ref = city
    tol = max(3 * city.height, 0.08 * lay.width)
    for _ in range(3):
        above = [
            b
            for b in lay.boxes
            if b not in block
            and b.cy < ref.cy - 0.4 * ref.height
            and ref.y0 - b.y1 < 1.6 * ref.height
            and abs(b.x0 - city.x0) < tol
            and not label_only(lay, b)
        ]
        if not above:
            break
        nxt = max(above, key=lambda b: b.cy)
        segs = lay.of_box(nxt)
        if segs and segs[0].kind == "label" and segs[0].key != ADDRESS and (ref is not city or segs[0].word):
            break  # "1 PUBLIC", "2 JANE Q": a labelled field, not an address line (the line
            # right above the city may start with a house number read as a field number)
        text = strip_label(lay, nxt, (ADDRESS,)).upper()
        if not ADDRESS_LINE.match(text.strip()) or not re.search(r"[A-Z]{2}", text):
            break
        if re.match(r"^\d", text.strip()) and len(text.split()) < 2:
            break  # a house number comes with a street name
        block.append(nxt)
        ref = nxt
    # the street is the topmost line of the block that starts with a house number
    streets = [b for b in block[1:] if re.match(r"^[#$]?\s*\d", strip_label(lay, b, (ADDRESS,)).strip())]
    if streets:
        top = min(streets, key=lambda b: b.cy)
        block = [b for b in block if b.cy >= top.cy]
    return city, sorted(block, key=lambda b: b.cy)


def read_address_fields(lay: Layout, out: Reading, city, block) -> None:
    if city is None:
        return
    m = CITY_RE.match(city.text.upper().strip())
    conf = city.confidence
    out.fields["CITY_IN_ADDRESS"] = Field(
        " ".join(as_letters(w) for w in m.group("city").strip(" ,.").split()), calibrated(conf, True)
    )
    out.fields["STATE_IN_ADDRESS"] = Field(m.group("state"), calibrated(conf, True))
    zip_code = m.group("zip") + (f"-{m.group('plus4')}" if m.group("plus4") else "")
    out.fields["ZIP_CODE_IN_ADDRESS"] = Field(
        zip_code, calibrated(conf, True, bool(re.fullmatch(r"\d{5}(-\d{4})?", zip_code)))
    )
    streets = [b for b in block if b is not city]
    if streets:
        text = " ".join(strip_label(lay, b, (ADDRESS,)).upper().strip(" $") for b in streets)
        out.fields["ADDRESS"] = Field(_street(text), calibrated(min(b.confidence for b in streets), True))


def _street(text: str) -> str:
    words = text.split()
    fixed = [words[0]] if words else []
    for w in words[1:]:
        letters = sum(ch.isalpha() for ch in w)
        if letters and letters >= len(w) - 1 and not re.match(r"^\d+(ST|ND|RD|TH)$", w):
            w = as_letters(w)
        fixed.append(w)
    return " ".join(fixed)
