"""What the licence parser reads into (Reading), which boxes it reads, and the label helpers the
address and name readers share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..fields import Field
from ..layout import Layout

CITY_RE = re.compile(
    r"^(?P<city>[A-Z][A-Z .'\-]*?)[,.]?\s*(?P<state>[A-Z]{2})[,.\-]?\s*"
    r"(?P<zip>(?=(?:[A-Z#]*\d){3})[0-9A-Z#]{4,5})(?:\s*-?\s*(?P<plus4>[0-9#]{4}))?\b"
)


DIGIT_TO_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G"})


@dataclass
class Reading:
    """What the parser read: fields, plus what claim-guided reading needs."""

    fields: dict[str, Field] = field(default_factory=dict)
    slots: dict[str, list[str]] = field(default_factory=dict)  # core field -> texts at its place
    texts: list[str] = field(default_factory=list)  # every text on the card
    state: str | None = None


def usable(box) -> bool:
    """Boxes worth reading: not vertical text (names printed up the side), not specks."""
    text = box.text.strip()
    if not text:
        return False
    if box.height > 1.5 * box.width and len(text) >= 3:
        return False
    return len(text) > 2 or box.confidence >= 80


def label_owners(lay: Layout) -> dict[int, tuple]:
    """id(value segment) -> (label segment, how): each value's nearest label."""
    rank = {"box": 0, "right": 1, "below": 2}
    owners: dict[int, tuple] = {}
    for lab in lay.labels():
        for seg, how in lay.values_for(lab):
            cur = owners.get(id(seg))
            if cur is None or rank[how] < rank[cur[1]]:
                owners[id(seg)] = (lab, how)
    return owners


def values(lay: Layout):
    for b in lay.boxes:
        for s in lay.of_box(b):
            if s.kind == "value":
                yield s


def text_x0(lay: Layout, box) -> float:
    """Where a box's value text starts (after a leading label such as "2 ")."""
    for s in lay.of_box(box):
        if s.kind == "value":
            return s.x0
    return box.x0


def label_only(lay: Layout, box) -> bool:
    segs = lay.of_box(box)
    return bool(segs) and all(s.kind == "label" for s in segs)


def row_label(lay: Layout, box):
    """A label-only box just left of `box` on its row ("1." | "SAMPLE"), or None."""
    best = None
    for b in lay.boxes:
        if b is box or not label_only(lay, b) or not lay.same_row(b, box):
            continue
        beside = b.x1 <= box.x0 + 0.3 * box.height and box.x0 - b.x1 < 2.5 * box.height
        if beside and (best is None or b.x1 > best.x1):
            best = b
    return lay.of_box(best)[-1] if best is not None else None


def strip_label(lay: Layout, box, keys) -> str:
    """The box's text without a leading label of one of `keys`."""
    segs = lay.of_box(box)
    if segs and segs[0].kind == "label" and segs[0].key in keys:
        return " ".join(s.text for s in segs[1:])
    return box.text


def as_letters(word: str) -> str:
    return word.translate(DIGIT_TO_LETTER)
