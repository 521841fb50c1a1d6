"""Labels and values on a document front, from OCR boxes with their geometry.

Each OCR box is split into segments: a *label* (an AAMVA field number such as `4d`, `3`,
`4b`, and/or a label word such as `DLN`, `LIC#`, `DOB`, `EXP`, `LN`, `FAMILY NAME`) or a
*value* (whatever follows a label, up to the next one). Boxes glued by the recogniser
("4dLIC#WDLABCD456DG 9CLASS", "DOB:08-16-1960 SEX: M", "LNSAMPLE") are split the same way,
helped by the recogniser's word gaps (`ocr.Line.words`) where it saw them.

`values_for(label)` then finds a label's value where cards put it: in the same box after the
label, in the next box to the right on the same row, or in the box below (next row,
overlapping horizontally). A label word is never a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Canonical label keys.
NUMBER, DOB, EXP, ISS, LAST, GIVEN, NAME, ADDRESS = ("NUMBER", "DOB", "EXP", "ISS", "LAST", "GIVEN", "NAME", "ADDRESS")
OTHER = "OTHER"  # a field no core value comes from (class, sex, height, DD, ...)
IGNORE_DATE = "NODATE"  # labels whose dates are not the holder's (revision, replaced, DD)

# Label words, one pattern per alternative: the longest acceptable match at a position wins.
_WORDS: list[tuple[str, tuple[str, ...]]] = [
    (
        NUMBER,
        tuple(
            r"DLN D\.?L\.?\s?NO\.? DL\s?# DL LIC(?:ENSE)?\.?\s?(?:NO\.?|NUMBER|#) LIC\s?# "
            r"LIC\.? CUSTOMER\s+(?:ID|NO\.?|NUMBER) ID\s?(?:NO\.?|#) IDN "
            r"CREDENTIAL\s+IDENTIFIER DOCUMENT\s+(?:NUMBER|NO\.?) NUMBER NO[.:#] NO(?=\s+\d) "
            r"NO(?=[A-Z]?\d) OLNO\.? DLNO\.?".split()
        ),
    ),
    (DOB, (r"D\.?O\.?B\.?", r"D0B", r"D\.O\.8\.?", r"DATE\s+OF\s+BIRTH", r"BIRTH\s?DATE")),
    (EXP, (r"EXP\.?", r"EXPIRES(?:\s+ON)?", r"EXPIRATION(?:\s+DATE)?", r"EXP\s+DATE", r"EXPIRY(?:\s+DATE)?")),
    (ISS, (r"ISS\.?", r"ISSUED(?:\s+ON)?", r"ISSUE\s+DATE", r"ISS\s+DATE", r"IS5")),
    (LAST, (r"FAMILY\s+NAME", r"LAST\s+NAME", r"SURNAME", r"LN")),
    (GIVEN, (r"GIVEN\s+NAMES?", r"FIRST\s+NAME", r"FN")),
    (NAME, (r"NAME",)),
    (ADDRESS, (r"ADDRESS", r"ADDR")),
    (IGNORE_DATE, (r"REV(?:ISION)?", r"REPLACED", r"DUPS?", r"DUPLICATE", r"AUDIT", r"DD")),
    (
        OTHER,
        tuple(
            r"CLASS ENDORSEMENTS? ENDORSE END RESTRICTIONS? RESTR? RES RSTR SEX GENDER HGT "
            r"HEIGHT WGT WEIGHT EYES? HAIR RACE DONOR ORGAN\s+DONOR VETERAN TYPE MED\s+ALERT "
            r"HEARING\s+IMP CL EN RE HT WT".split()
        ),
    ),
]
# Short labels that may run into following letters only when they open a box ("LNSAMPLE").
_GLUE_ONLY_AT_START = {"LN", "FN"}
# Words that are labels only where a box begins (or after a field number): "8.ADDRESS", not
# "123 STREET ADDRESS".
_BOX_START_ONLY = {"ADDRESS", "ADDR"}
# A document number may follow its label with no gap ("LICV007989", "DL11234562").
_GLUED_NUMBER = re.compile(r"[A-Z]{1,3}\d{3}")
# What may follow a label that runs straight into letters ("SEXM", "EYESBLU", "RSTRNONE").
_GLUED_VALUES = {
    "SEX": r"[MFX]\b",
    "GENDER": r"[MFX]\b",
    "EYES": r"(?:BRO|BRN|BLU|GRN|HAZ|BLK|GRY|HAZ|MUL|DIC|PNK|XXX|UNK)\b",
    "EYE": r"(?:BRO|BRN|BLU|GRN|HAZ|BLK|GRY)\b",
    "HAIR": r"(?:BRO|BRN|BLK|BLN|RED|GRY|WHI|BAL|SDY|UNK)\b",
    "REST": r"NONE\b",
    "RESTR": r"NONE\b",
    "RSTR": r"NONE\b",
    "END": r"NONE\b",
}
# AAMVA field numbers (with the recogniser's usual confusions of the letter). A number with a
# letter (4a, 4b, 4d, 9a) may run straight into a value; a bare number only into letters.
_FN_RE = re.compile(
    r"(?:(?P<lettered>4\s?[ABD]|9\s?A|4[O0](?=[A-Z]))(?=[\s.:,|]|[A-Z0-9]|$)"
    r"|(?P<plain>1\s?[,.]\s?2|1[25-9]|[1-589]|4)(?=[\s.:,|]|[A-Z]|$))"
)
_NUMBER_KEY = [
    (re.compile(r"^4\s?D$|^4[O0]$"), NUMBER),
    (re.compile(r"^4\s?B$"), EXP),
    (re.compile(r"^4\s?A$"), ISS),
    (re.compile(r"^3$"), DOB),
    (re.compile(r"^1$"), LAST),
    (re.compile(r"^2$"), GIVEN),
    (re.compile(r"^1\s?[,.]\s?2$"), NAME),
    (re.compile(r"^8$"), ADDRESS),
    (re.compile(r"^5$"), IGNORE_DATE),
    (re.compile(r"^4$"), NUMBER),
    (re.compile(r"^(?:9\s?A|9|1[25-9])$"), OTHER),
]
_OWN_NUMBER = {DOB: ("3",), EXP: ("4B",), ISS: ("4A",)}
# one pattern per alternative: the longest acceptable match wins (see _word_at)
_WORD_RES = [(key, re.compile(alt)) for key, alts in _WORDS for alt in alts]
_SEPARATORS = " .:;,|#="
_LEADING_JUNK = " .,:;|'`*-"


@dataclass
class Segment:
    kind: str  # "label" or "value"
    key: str | None  # label key (labels only)
    text: str  # as printed (upper case)
    x0: float
    x1: float
    box: object = field(repr=False, compare=False)
    index: int = 0  # position in its box's segment list
    number: str = ""  # the AAMVA field number of a label, if any
    word: str = ""  # the label word, if any

    @property
    def y0(self):
        return self.box.y0

    @property
    def y1(self):
        return self.box.y1

    @property
    def height(self):
        return self.box.y1 - self.box.y0


def field_key(number: str) -> str | None:
    for rx, key in _NUMBER_KEY:
        if rx.match(number.strip().upper()):
            return key
    return None


def respaced(line) -> str:
    """The box's text with a space wherever the recogniser saw a word gap that the text lacks,
    when one side of it is a digit (glued field numbers and values: "4|T123456789|02/01/1979",
    "3|01/16/1964") or a label word ("DRIVERLICENSE|CLASS|E")."""
    text = line.text
    words = [w for w, _, _ in (line.words or ())]
    if len(words) < 2 or "".join(words).replace(" ", "") != text.replace(" ", ""):
        return text
    out, pos = [], 0
    for i, word in enumerate(words):
        taken, start = 0, pos
        while pos < len(text) and taken < len(word.replace(" ", "")):
            if text[pos] != " ":
                taken += 1
            pos += 1
        out.append(text[start:pos])
        if i + 1 < len(words) and pos < len(text) and text[pos] != " ":
            left, right = word, words[i + 1]
            if (
                left[-1:].isdigit()
                or right[:1].isdigit()
                or _is_label_word(left.upper())
                or _is_label_word(right.upper())
            ):
                out.append(" ")
    out.append(text[pos:])
    return "".join(out)


def _is_label_word(word: str) -> bool:
    word = word.strip(".:#,")
    return len(word) >= 4 and any(rx.fullmatch(word) for _, rx in _WORD_RES)


def _may_start(text: str, pos: int) -> bool:
    if pos == 0:
        return True
    prev, ch = text[pos - 1], text[pos]
    # after a separator, or where letters and digits meet ("4dLIC", "E9A END": a field number
    # and its label word glued to what comes before)
    return prev in _SEPARATORS or prev == "/" or (prev.isdigit() and ch.isalpha()) or (prev.isalpha() and ch.isdigit())


def _word_at(text: str, pos: int, box_start: bool, numbered: bool):
    """(key, end, word) of the longest label word at `pos`, or None."""
    best = None
    for key, rx in _WORD_RES:
        m = rx.match(text, pos)
        if not m or m.end() == pos:
            continue
        word = m.group(0)
        stripped = word.strip(".:#")
        after = text[m.end() : m.end() + 1]
        if stripped in _BOX_START_ONLY and not (box_start or numbered):
            continue
        if after.isalpha() and key == NUMBER and _GLUED_NUMBER.match(text, m.end()):
            pass
        elif after.isalpha():
            # a label running into letters: LN/FN opening a box, or a known glued value
            glued = _GLUED_VALUES.get(stripped)
            if stripped in _GLUE_ONLY_AT_START:
                if not (box_start and not numbered):
                    continue
            elif not (glued and re.match(glued, text[m.end() :])) and not word.endswith((".", ":", "#")):
                continue
        elif after.isdigit() and stripped in ("LN", "FN", "NAME", "CL", "EN", "RE"):
            continue
        if best is None or m.end() > best[1]:
            best = (key, m.end(), word)
    return best


def _label_at(text: str, pos: int, box_start: bool):
    """(key, end, number, word) of a label starting at `pos`, or None."""
    m = _FN_RE.match(text, pos)
    if m:
        number = (m.group("lettered") or m.group("plain")).replace(" ", "")
        starts = [(number, m.end())]
        if m.group("lettered"):
            starts.append((number[0], pos + 1))  # "4DLN": 4 + DLN rather than 4D + LN
        best = None
        for num, end in starts:
            word_pos = end
            while word_pos < len(text) and text[word_pos] in _SEPARATORS:
                word_pos += 1
            found = _word_at(text, word_pos, box_start, True) if word_pos < len(text) else None
            if found and (best is None or (found[1], len(found[2])) > (best[1], len(best[3]))):
                best = (found[0], found[1], num, found[2])
        if best:
            return best
        if pos > 0 and text[pos - 1].isalpha():
            return None  # glued to letters before it: only with a label word
        if not text[:pos].strip(_LEADING_JUNK) and number[:2] not in ("4O", "40"):
            # a bare field number opens its box ("1SAMPLE", "4dS123-...", "3 | DOB"); "40"
            # stands for "4d" only before a label word
            return field_key(number), m.end(), number, ""
    found = _word_at(text, pos, box_start, False)
    if found:
        return found[0], found[1], "", found[2]
    return None


def segments(line) -> list[Segment]:
    """Split one OCR box into label and value segments (see the module docstring)."""
    text = respaced(line).upper()
    n = max(len(text), 1)
    width = line.x1 - line.x0

    def x(i):
        return line.x0 + width * i / n

    segs: list[Segment] = []
    pos, vstart = 0, None
    while pos < len(text):
        found = _label_at(text, pos, not segs and vstart is None) if _may_start(text, pos) else None
        if found and found[0] is None:
            found = None
        if found:
            key, end, number, word = found
            start = pos
            if vstart is not None:
                value = text[vstart:pos]
                # the label's own field number glued to the value before it ("...783D0B")
                for own in _OWN_NUMBER.get(key, ()):
                    if not number and value.endswith(own) and len(value) > len(own):
                        value, start, number = value[: -len(own)], pos - len(own), own
                        break
                _add_value(segs, text, vstart, vstart + len(value), x, line)
                vstart = None
            segs.append(Segment("label", key, text[start:end].strip(), x(start), x(end), line, len(segs), number, word))
            pos = end
            while pos < len(text) and text[pos] in _SEPARATORS:
                pos += 1
            continue
        if vstart is None and text[pos] not in _SEPARATORS:
            vstart = pos
        pos += 1
    if vstart is not None:
        _add_value(segs, text, vstart, len(text), x, line)
    return segs


def _add_value(segs, text, start, end, x, line):
    raw = text[start:end]
    value = raw.strip(" :;,|=")
    if value:
        lead = len(raw) - len(raw.lstrip(" :;,|="))
        segs.append(Segment("value", None, value, x(start + lead), x(end), line, len(segs)))


@dataclass
class Layout:
    """All segments of a page, with the geometry to relate them."""

    boxes: list
    segs: dict = field(default_factory=dict)  # id(box) -> [Segment]
    width: float = 0.0
    height: float = 0.0

    @classmethod
    def of(cls, boxes, width: float = 0.0, height: float = 0.0) -> Layout:
        lay = cls(
            list(boxes),
            {},
            width or max((b.x1 for b in boxes), default=1.0),
            height or max((b.y1 for b in boxes), default=1.0),
        )
        for b in lay.boxes:
            lay.segs[id(b)] = segments(b)
        return lay

    def of_box(self, box) -> list[Segment]:
        return self.segs[id(box)]

    def labels(self, key: str | None = None) -> list[Segment]:
        out = []
        for b in self.boxes:
            out += [s for s in self.segs[id(b)] if s.kind == "label" and (key is None or s.key == key)]
        return out

    def same_row(self, a, b) -> bool:
        overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
        return overlap > 0.5 * min(a.y1 - a.y0, b.y1 - b.y0)

    def right_of(self, seg: Segment):
        """The first segment of the nearest box to the right of `seg`'s box on the same row."""
        box = seg.box
        h = box.y1 - box.y0
        best = None
        for b in self.boxes:
            if b is box or not self.same_row(b, box):
                continue
            gap = b.x0 - seg.x1
            # the detector's boxes of a label and its value may overlap a little
            right_of = -1.0 * h <= gap <= 6 * h and b.x0 > box.x0 and b.x1 > seg.x1 + 0.5 * h
            if right_of and (best is None or b.x0 < best.x0):
                best = b
        if best is None:
            return None
        return self.segs[id(best)][0] if self.segs[id(best)] else None

    def below(self, seg: Segment, reach: float = 1.6):
        """The first segment of the box just below `seg` (next row, overlapping it)."""
        box = seg.box
        h = box.y1 - box.y0
        best = None
        for b in self.boxes:
            if b is box or b.cy <= box.cy + 0.4 * h:
                continue
            if b.y0 - box.y1 > reach * max(h, 0.6 * (b.y1 - b.y0)):
                continue
            overlap = min(b.x1, seg.x1 + 0.5 * h) - max(b.x0, seg.x0 - 0.5 * h)
            if overlap <= 0 and not (abs(b.x0 - seg.x0) < 1.5 * h):
                continue
            if best is None or (b.y0, abs(b.x0 - seg.x0)) < (best.y0, abs(best.x0 - seg.x0)):
                best = b
        if best is None:
            return None
        for s in self.segs[id(best)]:
            if s.x1 >= seg.x0 - 0.5 * h:
                return s
        return self.segs[id(best)][0] if self.segs[id(best)] else None

    def values_for(self, label: Segment) -> list[tuple[Segment, str]]:
        """Candidate values of `label`, nearest first: [(segment, "box"|"right"|"below")]."""
        segs = self.segs[id(label.box)]
        out = []
        nxt = segs[label.index + 1] if label.index + 1 < len(segs) else None
        if nxt is not None and nxt.kind == "value":
            out.append((nxt, "box"))
        if nxt is None:
            right = self.right_of(label)
            if right is not None and right.kind == "value":
                out.append((right, "right"))
        # a value in the label's own box is its value; a bare field number ("1", "4d") is printed
        # left of its value, never above it: only labels with words take the value below
        if (nxt is None or nxt.kind == "label") and label.word:
            below = self.below(label)
            if below is not None and below.kind == "value":
                out.append((below, "below"))
        return out
