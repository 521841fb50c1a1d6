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
from dataclasses import dataclass, field
from datetime import date

from . import dlformats
from .fields import AT_LABEL, BY_POSITION, SHAKY_CAP, US_STATES, Field, calibrated, make_date
from .layout import (ADDRESS, DOB, EXP, GIVEN, IGNORE_DATE, ISS, LAST, NAME, NUMBER, OTHER,
                     Layout)

CITY_RE = re.compile(r"^(?P<city>[A-Z][A-Z .'\-]*?)[,.]?\s*(?P<state>[A-Z]{2})[,.\-]?\s*"
                     r"(?P<zip>(?=(?:[A-Z#]*\d){3})[0-9A-Z#]{4,5})(?:\s*-?\s*(?P<plus4>[0-9#]{4}))?\b")
DATE_RE = re.compile(r"(\d{1,2})\s?[/\-.]\s?(\d{1,2})\s?[/\-.]\s?((?:19|20)\d{2})")
MONTHS = {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
WORD_DATE_RE = re.compile(r"(\d{1,2})\s?(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]*"
                          r"\.?\s?((?:19|20)\d{2})")
NUMBER_TOKEN = re.compile(r"^[A-Z0-9][A-Z0-9\-]{1,24}$")
SUFFIXES = {"JR", "SR", "II", "III", "IV", "V"}
ADDRESS_LINE = re.compile(r"^(?:[#$]?\s*\d|APT|UNIT|STE|SUITE|#|P\.?\s?O\.?\s+BOX|ADDRESS|FLOOR)")
# Printed words that are never a holder's name (headers, banners, codes).
CARD_WORDS = {
    "DRIVER", "DRIVERS", "DRIVER'S", "LICENSE", "LICENCE", "IDENTIFICATION", "USA", "DONOR",
    "VETERAN", "NONE", "FEDERAL", "LIMITS", "APPLY", "ENHANCED", "COMMERCIAL", "OPERATOR",
    "REAL", "NOT", "FOR", "PURPOSES", "ORGAN", "CLASS", "RESTRICTIONS", "ENDORSEMENTS",
    "SIGNATURE", "PERMIT", "INSTRUCTION", "LEARNER", "TEMPORARY", "UNDER", "UNTIL", "AGE",
    "LIMITED", "TERM", "VISITOR", "SAFE", "STATE", "SECRETARY", "DIRECTOR", "COMMISSIONER",
}
DIGIT_TO_LETTER = str.maketrans({"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G"})
TITLE_ID_CARD = re.compile(r"IDENTIFICATION\s*CARD|\bID\s*CARD|IDENTIFICATION")


@dataclass
class Reading:
    """What the parser read: fields, plus what claim-guided reading needs."""
    fields: dict[str, Field] = field(default_factory=dict)
    slots: dict[str, list[str]] = field(default_factory=dict)  # core field -> texts at its place
    texts: list[str] = field(default_factory=list)            # every text on the card
    state: str | None = None


def usable(box) -> bool:
    """Boxes worth reading: not vertical text (names printed up the side), not specks."""
    text = box.text.strip()
    if not text:
        return False
    if box.height > 1.5 * box.width and len(text) >= 3:
        return False
    return len(text) > 2 or box.confidence >= 80


def parse(boxes, width: float = 0.0, height: float = 0.0, reread=None) -> Reading:
    """Read a licence front from OCR boxes (`ocr.Line`s in upright page coordinates).

    `reread(box) -> [text]` (optional): the box recognised again; used for a second look at a
    labelled document number that fails its state's published format."""
    boxes = [b for b in boxes if usable(b)]
    lay = Layout.of(boxes, width, height)
    out = Reading()
    if not boxes:
        return out
    out.texts = [b.text.upper() for b in boxes] + [s.text for b in boxes for s in lay.of_box(b)
                                                   if s.kind == "value"]
    owners = _owners(lay)
    city, street_boxes = _address(lay)
    out.state = _state(lay, city)
    _numbers(lay, owners, out, city, street_boxes, reread)
    _dates(lay, owners, out)
    _names(lay, owners, out, street_boxes, reread)
    _address_fields(lay, out, city, street_boxes)
    _codes(lay, owners, out)
    if out.fields:
        if out.state:
            out.fields["STATE_NAME"] = Field(US_STATES.get(out.state, out.state), 95.0)
        out.fields["ID_TYPE"] = Field(_id_type(lay), 95.0)
    return out


def parse_rows(rows: list[list]) -> dict[str, Field]:
    """Fields from OCR rows (lists of `ocr.Line`): the boxes of all rows, read by `parse`."""
    return parse([b for row in rows for b in row]).fields


# ------------------------------------------------------------------ labels and their values

def _owners(lay: Layout) -> dict[int, tuple]:
    """id(value segment) -> (label segment, how): each value's nearest label."""
    rank = {"box": 0, "right": 1, "below": 2}
    owners: dict[int, tuple] = {}
    for lab in lay.labels():
        for seg, how in lay.values_for(lab):
            cur = owners.get(id(seg))
            if cur is None or rank[how] < rank[cur[1]]:
                owners[id(seg)] = (lab, how)
    return owners


def _values(lay: Layout):
    for b in lay.boxes:
        for s in lay.of_box(b):
            if s.kind == "value":
                yield s


def _state(lay: Layout, city) -> str | None:
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


def _id_type(lay: Layout) -> str:
    top = " ".join(b.text.upper() for b in lay.boxes if b.cy < 0.35 * lay.height)
    if TITLE_ID_CARD.search(top) and not re.search(r"DRIVER", top):
        return "ID CARD"
    return "DRIVER LICENSE FRONT"


# ------------------------------------------------------------------ address

def _address(lay: Layout):
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
        above = [b for b in lay.boxes if b not in block and b.cy < ref.cy - 0.4 * ref.height
                 and ref.y0 - b.y1 < 1.6 * ref.height and abs(b.x0 - city.x0) < tol
                 and not _label_only(lay, b)]
        if not above:
            break
        nxt = max(above, key=lambda b: b.cy)
        segs = lay.of_box(nxt)
        if segs and segs[0].kind == "label" and segs[0].key != ADDRESS and (ref is not city or segs[0].word):
            break  # "1 PUBLIC", "2 JANE Q": a labelled field, not an address line (the line
            # right above the city may start with a house number read as a field number)
        text = _strip_label(lay, nxt, (ADDRESS,)).upper()
        if not ADDRESS_LINE.match(text.strip()) or not re.search(r"[A-Z]{2}", text):
            break
        if re.match(r"^\d", text.strip()) and len(text.split()) < 2:
            break  # a house number comes with a street name
        block.append(nxt)
        ref = nxt
    # the street is the topmost line of the block that starts with a house number
    streets = [b for b in block[1:] if re.match(r"^[#$]?\s*\d", _strip_label(lay, b, (ADDRESS,)).strip())]
    if streets:
        top = min(streets, key=lambda b: b.cy)
        block = [b for b in block if b.cy >= top.cy]
    return city, sorted(block, key=lambda b: b.cy)


def _text_x0(lay: Layout, box) -> float:
    """Where a box's value text starts (after a leading label such as "2 ")."""
    for s in lay.of_box(box):
        if s.kind == "value":
            return s.x0
    return box.x0


def _label_only(lay: Layout, box) -> bool:
    segs = lay.of_box(box)
    return bool(segs) and all(s.kind == "label" for s in segs)


def _row_label(lay: Layout, box):
    """A label-only box just left of `box` on its row ("1." | "SAMPLE"), or None."""
    best = None
    for b in lay.boxes:
        if b is box or not _label_only(lay, b) or not lay.same_row(b, box):
            continue
        if b.x1 <= box.x0 + 0.3 * box.height and box.x0 - b.x1 < 2.5 * box.height:
            if best is None or b.x1 > best.x1:
                best = b
    return lay.of_box(best)[-1] if best is not None else None


def _strip_label(lay: Layout, box, keys) -> str:
    """The box's text without a leading label of one of `keys`."""
    segs = lay.of_box(box)
    if segs and segs[0].kind == "label" and segs[0].key in keys:
        return " ".join(s.text for s in segs[1:])
    return box.text


def _address_fields(lay: Layout, out: Reading, city, block) -> None:
    if city is None:
        return
    m = CITY_RE.match(city.text.upper().strip())
    conf = city.confidence
    out.fields["CITY_IN_ADDRESS"] = Field(" ".join(_letters(w) for w in m.group("city").strip(" ,.").split()),
                                          calibrated(conf, True))
    out.fields["STATE_IN_ADDRESS"] = Field(m.group("state"), calibrated(conf, True))
    zip_code = m.group("zip") + (f"-{m.group('plus4')}" if m.group("plus4") else "")
    out.fields["ZIP_CODE_IN_ADDRESS"] = Field(zip_code, calibrated(conf, True, bool(re.fullmatch(r"\d{5}(-\d{4})?", zip_code))))
    streets = [b for b in block if b is not city]
    if streets:
        text = " ".join(_strip_label(lay, b, (ADDRESS,)).upper().strip(" $") for b in streets)
        out.fields["ADDRESS"] = Field(_street(text), calibrated(min(b.confidence for b in streets), True))


def _street(text: str) -> str:
    words = text.split()
    fixed = [words[0]] if words else []
    for w in words[1:]:
        letters = sum(ch.isalpha() for ch in w)
        if letters and letters >= len(w) - 1 and not re.match(r"^\d+(ST|ND|RD|TH)$", w):
            w = _letters(w)
        fixed.append(w)
    return " ".join(fixed)


def _letters(word: str) -> str:
    return word.translate(DIGIT_TO_LETTER)


# ------------------------------------------------------------------ document number

def _number_token(text: str) -> str | None:
    tokens = text.upper().split()
    if not tokens:
        return None
    first = tokens[0].strip(".,:;")
    if DATE_RE.fullmatch(first) or not NUMBER_TOKEN.match(first):
        return None
    parts = [first]
    for tok in tokens[1:]:
        if parts[-1][-1:].isdigit() and re.fullmatch(r"\d{2,4}", tok) and len(parts) < 5:
            parts.append(tok)
        else:
            break
    value = "".join(parts).strip("-")
    digits = sum(ch.isdigit() for ch in value)
    alnum = len(dlformats.compact(value))
    if digits < 3 or alnum < 5 or alnum > 20:
        return None
    return value


def _fit_number(state: str | None, printed: str, ocr_conf: float, at_label: bool):
    """(value, confidence, fits) of a number read by the state's format where one is known.

    A run of four or more identical characters is shaky whatever its format: the recogniser
    (CTC) merges repeated characters, so one may have been lost ("N9999999" for N99999999)."""
    if re.search(r"(.)\1{3,}", dlformats.compact(printed)):
        ocr_conf = min(ocr_conf, SHAKY_CAP)
    if dlformats.known(state):
        fitted = dlformats.read(state, printed)
        if fitted is not None:
            value, changes = fitted
            conf = ocr_conf if changes == 0 else min(ocr_conf, 90.0)
            return dlformats.apply_changes(printed, value), calibrated(conf, at_label), True
        return printed, calibrated(ocr_conf, at_label, False), False
    return printed, calibrated(ocr_conf, at_label), False


def _second_look(state, boxes, reread):
    """(token, value, confidence) from a labelled box read again, fitting the state's format."""
    for box in boxes:
        for text in reread(box):
            for token in re.findall(r"[A-Z0-9][A-Z0-9\-]{4,24}", text.upper()):
                if DATE_RE.fullmatch(token) or not _number_token(token):
                    continue
                if dlformats.fits(state, token):
                    value, conf, _ = _fit_number(state, token, min(box.confidence, 90.0), True)
                    return token, value, conf
    return None


def _numbers(lay: Layout, owners, out: Reading, city, block, reread=None) -> None:
    rank = {"box": 0, "right": 1, "below": 2}
    cands = []
    for lab in lay.labels(NUMBER):
        for seg, how in lay.values_for(lab):
            owner = owners.get(id(seg))
            if owner and owner[0] is not lab and owner[0].key != NUMBER:
                continue
            token = _number_token(seg.text)
            if token:
                cands.append((rank[how], seg, token))
                break
    state = out.state
    # numbers standing alone (Florida's under the title, Ohio's and Oregon's unlabelled)
    skip = {id(b) for b in block}
    if city is not None:
        skip.add(id(city))
    for seg in _values(lay):
        owner = owners.get(id(seg))
        if id(seg.box) in skip or (owner and (owner[0].key == NUMBER or owner[1] == "box"
                                              or owner[0].key == IGNORE_DATE)):
            continue
        token = _number_token(seg.text)
        if not token:
            continue
        if dlformats.known(state):
            # where the state's format is known, an unlabelled number must have it
            if dlformats.read(state, token) is not None:
                cands.append((3, seg, token))
        elif sum(ch.isdigit() for ch in token) >= 5:
            cands.append((3, seg, token))
    best = None
    for r, seg, token in cands:
        value, conf, fits = _fit_number(state, token, seg.box.confidence, r < 3)
        # a number of the state's format first, then one at its label, then the highest
        key = (not fits, r == 3, r, seg.box.cy)
        if best is None or key < best[0]:
            best = (key, value, conf, token)
    if reread is not None and dlformats.known(state) and (best is None or best[0][0]):
        labelled = [seg.box for r, seg, _ in sorted(cands, key=lambda c: c[0]) if r < 3]
        again = _second_look(state, labelled[:2], reread)
        if again is not None:
            token, value, conf = again
            best = ((False, False, 0, 0.0), value, conf, token)
    if best is not None:
        key, value, conf, token = best
        out.fields["DOCUMENT_NUMBER"] = Field(value, conf, source=BY_POSITION if key[1] else AT_LABEL,
                                              raw=token)
        out.slots["DOCUMENT_NUMBER"] = [token, value]


# ------------------------------------------------------------------ dates

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


def _dates(lay: Layout, owners, out: Reading) -> None:
    today = date.today()
    labelled: dict[str, list] = {DOB: [], EXP: [], ISS: []}
    pool = []
    for seg in _values(lay):
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
    if (dob and (dob[0] > today or dob[0].year < 1900)) or (dob and exp and _years_between(dob[0], exp[0]) < 10) \
            or (dob and iss and iss[0] <= dob[0]) or (iss and exp and exp[0] < iss[0]):
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
    for key, name, item in ((DOB, "DATE_OF_BIRTH", dob), (EXP, "EXPIRATION_DATE", exp),
                            (ISS, "DATE_OF_ISSUE", iss)):
        if item is None:
            continue
        d, raw, conf = item
        out.fields[name] = Field(raw, calibrated(conf, at[key]), d,
                                 AT_LABEL if at[key] else BY_POSITION, raw)
        out.slots[name] = [raw]


# ------------------------------------------------------------------ names

def _clean_name(text: str) -> str | None:
    """A holder's name as printed (upper case), or None when the text is not one."""
    text = text.upper().replace("|", "I").strip(" .,:;*")
    text = re.sub(r"\s+", " ", text)
    if not text:
        return None
    words = text.split()
    digits = sum(ch.isdigit() for ch in text)
    letters = sum(ch.isalpha() for ch in text)
    if digits and (digits > 1 or letters < 2):
        return None
    if digits:
        words = [_letters(w) for w in words]
    text = " ".join(words)
    if not re.fullmatch(r"[^\W\d_](?:[^\W\d_]|['\-., ])*", text) or letters < 2 or len(words) > 5:
        return None
    if all(w.strip(".,") in CARD_WORDS or len(w.strip(".,")) < 1 for w in words):
        return None
    if any(w.strip(".,") in CARD_WORDS for w in words) and len(words) <= 2:
        return None
    if max(len(w.strip(".,'-")) for w in words) < 2:
        return None
    return text


def _name_line(lay: Layout, box):
    """(name text, name label key or None) of a box in the name block, or None."""
    segs = lay.of_box(box)
    key = None
    rest = segs
    if segs and segs[0].kind == "label":
        lab = segs[0]
        if lab.key in (LAST, GIVEN, NAME):
            key, rest = lab.key, segs[1:]
        elif lab.key == OTHER and lab.number == "12" and not lab.word:
            key, rest = NAME, segs[1:]  # "1,2" read as 12
        else:
            return None
    if any(s.kind == "label" for s in rest):
        return None
    text = " ".join(s.text for s in rest)
    if key is None:
        lab = _row_label(lay, box)
        if lab is not None:
            if lab.key not in (LAST, GIVEN, NAME):
                return None
            key = lab.key
    if key is None:
        # a field number glued to the name ("21AM" = 2 + I AM, "1SAMPLE")
        text = text.lstrip(" .,:;'`*-")
        # names are printed in capitals: a lower-case letter glued before them is a misread
        # field number ("uDOE" for "1,2 DOE")
        raw = box.text.strip().lstrip(" .,:;'`*-")
        if re.match(r"^[a-z](?=[A-Z]{2})", raw) and not segs[1:]:
            text = raw[1:].upper()
        m = re.match(r"^(1\s?[,.]?\s?2|[12])(?=[A-Z]|1[A-Z])", text.upper())
        # the field number read as a letter: "l MULLER", "| MULLER" (1), "Z OMAR" (2)
        lookalike = re.match(r"^([l|]|Z)\s+(?=[A-Za-z]{2})", box.text.strip())
        if m:
            key = {"1": LAST, "2": GIVEN}.get(m.group(1), NAME)
            text = text[m.end():]
        elif lookalike and not segs[1:]:
            key = GIVEN if lookalike.group(1) == "Z" else LAST
            text = box.text.strip()[lookalike.end():].upper()
    name = _clean_name(text)
    return (name, key) if name else None


def _column_neighbour(lay: Layout, box, direction: int, tol: float, exclude):
    """The nearest box above (-1) or below (+1) `box`, aligned with it, within 1.8 lines."""
    h = box.height
    best = None
    x = _text_x0(lay, box)
    for b in lay.boxes:
        if b is box or b in exclude or _label_only(lay, b):
            continue
        if abs(_text_x0(lay, b) - x) > tol and abs(b.x0 - box.x0) > tol:
            continue
        gap = (box.y0 - b.y1) if direction < 0 else (b.y0 - box.y1)
        if direction < 0 and b.cy >= box.cy - 0.4 * h or direction > 0 and b.cy <= box.cy + 0.4 * h:
            continue
        if gap > 1.8 * h or b.height > 2.0 * h or b.height < 0.4 * h:
            continue  # too far, or a header / fine print rather than the next line
        if best is None or (abs(b.cy - box.cy) < abs(best.cy - box.cy)):
            best = b
    return best


def _signature_order(lay: Layout, first_line: str, second_line: str) -> int:
    """+1: the signature says line 1 holds the given name; -1: line 2; 0: no evidence.

    Signatures are written given name first; the recogniser reads them in mixed case."""
    from rapidfuzz import fuzz

    a = re.sub(r"[^A-Z]", "", first_line.split()[0].upper()) if first_line.split() else ""
    b = re.sub(r"[^A-Z]", "", second_line.split()[0].upper()) if second_line.split() else ""
    if len(a) < 2 or len(b) < 2 or a == b:
        return 0
    best = 0
    for box in lay.boxes:
        if not re.search(r"[a-z]", box.text):
            continue
        sig = re.sub(r"[^A-Z]", "", box.text.upper())
        if len(sig) < 5:
            continue
        ab, ba = fuzz.ratio(sig, a + b), fuzz.ratio(sig, b + a)
        if max(ab, ba) >= 70 and abs(ab - ba) >= 15:
            vote = 1 if ab > ba else -1
            if best == 0:
                best = vote
            elif best != vote:
                return 0
    return best


def _split_given(text: str):
    """(first, middle or None, suffix or None) of a given-names line."""
    text = re.sub(r"\.(?=\S)", ". ", text)
    words = [w for w in re.split(r"[\s,]+", text.replace(".", " ")) if w]
    suffix = None
    if len(words) > 1 and words[-1] in SUFFIXES:
        suffix = words.pop()
    if not words:
        return None, None, suffix
    return words[0], " ".join(words[1:]) or None, suffix


def _name_block(lay: Layout, block, tol: float):
    """[(name, box, label key or None)], top to bottom: the lines right above the street line."""
    street = block[0] if block and len(block) > 1 else None
    lines = []
    if street is None:
        return lines
    ref, seen = street, []
    for _ in range(3):
        nxt = _column_neighbour(lay, ref, -1, min(tol, 1.5 * ref.height), seen)
        if nxt is None:
            break
        seen.append(nxt)
        line = _name_line(lay, nxt)
        if line is None:
            break
        lines.insert(0, (line[0], nxt, line[1]))
        ref = nxt
    return lines


def _signature_shortens(lay: Layout, first: str) -> bool:
    """The holder's signature starts with a shorter given name than the one read: the
    recogniser may have glued the given names ("CARONLYNN" signed "Caron Sample")."""
    letters = "".join(re.findall(r"[^\W\d_]+", first.upper()))
    for sig in lay.boxes:
        words = sig.text.split()
        if len(words) < 2 or not re.search(r"[a-z]", sig.text):
            continue
        signed = "".join(re.findall(r"[^\W\d_]+", words[0].upper()))
        if len(signed) >= 3 and len(letters) > len(signed) and letters.startswith(signed):
            return True
    return False


def _respace_given(lay: Layout, text: str, box, reread) -> str:
    """Given names the recogniser glued ("JEFFERYJAMES", "JOHNA"): a second look at the box
    with other margins may show the gap (the same letters, split)."""
    words = text.split()
    if len(words) != 1 or len(words[0]) < 5:
        return text
    letters = "".join(re.findall(r"[^\W\d_]+", text.upper()))
    for again in reread(box):
        words = re.findall(r"[^\W\d_]+", again.upper())
        for i in range(len(words)):
            for j in range(i + 2, len(words) + 1):
                if "".join(words[i:j]) == letters:
                    return " ".join(words[i:j])
    return text


def _names(lay: Layout, owners, out: Reading, block, reread=None) -> None:
    tol = 0.08 * lay.width
    block_ids = {id(b) for b in block}
    lines = _name_block(lay, block, tol)
    line_ids = {id(b) for _, b, _ in lines}
    # two or more name lines above the street: labels elsewhere on the card (misread field
    # numbers, stray text) do not override them
    labels_anywhere = len(lines) < 2
    last = given = None          # (text, box, at_label)
    combined = None

    def take(key):
        for lab in lay.labels(key):
            if id(lab.box) in block_ids:
                continue
            for seg, how in lay.values_for(lab):
                owner = owners.get(id(seg))
                if owner and owner[0] is not lab:
                    continue
                if not labels_anywhere and id(seg.box) not in line_ids:
                    continue
                name = _clean_name(seg.text)
                if name:
                    return name, seg.box, how
        return None

    found = take(LAST)
    if found:
        last = (found[0], found[1], True)
    found = take(GIVEN)
    if found:
        text, box, how = found
        if how == "below":  # given names on two lines under their label
            nxt = _column_neighbour(lay, box, +1, tol, [])
            more = _name_line(lay, nxt) if nxt is not None else None
            if more and more[1] is None and not (last and nxt is last[1]):
                text = f"{text} {more[0]}"
        given = (text, box, True)
    found = take(NAME)
    if found:
        combined = found

    by_key = {}
    for text, box, key in lines:
        by_key.setdefault(key, (text, box))
    if last is None and LAST in by_key:
        last = (by_key[LAST][0], by_key[LAST][1], True)
    if given is None and GIVEN in by_key:
        given = (by_key[GIVEN][0], by_key[GIVEN][1], True)
    if combined is None and NAME in by_key:
        combined = (by_key[NAME][0], by_key[NAME][1], "box")

    if combined is not None and (last is None or given is None):
        text, box, _ = combined
        if "," in text:
            family, _, rest = text.partition(",")
            if last is None and _clean_name(family):
                last = (_clean_name(family), box, True)
            if given is None and _clean_name(rest):
                given = (_clean_name(rest), box, True)
        elif last is None:
            last = (text, box, True)
            nxt = _column_neighbour(lay, box, +1, tol, [])
            line = _name_line(lay, nxt) if nxt is not None else None
            if given is None and line and line[1] is None:
                given = (line[0], nxt, False)
    if given is not None and last is None and "," in given[0]:
        family, _, rest = given[0].partition(",")
        if _clean_name(family) and _clean_name(rest) and _clean_name(rest).split()[0] not in SUFFIXES:
            last = (_clean_name(family), given[1], True)
            given = (_clean_name(rest), given[1], True)
    if given is not None and last is None:
        # AAMVA: the family name is the line above the given names
        above = _column_neighbour(lay, given[1], -1, min(tol, 1.5 * given[1].height), [])
        line = _name_line(lay, above) if above is not None else None
        if line and line[1] in (None, LAST):
            last = (line[0], above, False)
    if last is not None and given is None:
        below = _column_neighbour(lay, last[1], +1, min(tol, 1.5 * last[1].height), [])
        line = _name_line(lay, below) if below is not None else None
        if line and line[1] in (None, GIVEN) and below not in block:
            given = (line[0], below, False)
    if last is None and given is None:
        unlabelled = [(t, b) for t, b, k in lines if k is None]
        if len(unlabelled) >= 2:
            (t1, b1), (t2, b2) = unlabelled[0], unlabelled[1]
            if t1.endswith(","):
                order = -1
            else:
                order = _signature_order(lay, t1, t2)
            if order > 0:
                given, last = (t1, b1, False), (t2, b2, False)
            else:
                last, given = (t1, b1, False), (t2, b2, False)
            if len(unlabelled) >= 3 and order <= 0:
                given = (f"{t2} {unlabelled[2][0]}", b2, False)
        elif len(unlabelled) == 1:
            text, box = unlabelled[0]
            if "," in text:
                family, _, rest = text.partition(",")
                if _clean_name(family) and _clean_name(rest):
                    last, given = (_clean_name(family), box, False), (_clean_name(rest), box, False)
            elif len(text.split()) >= 2:
                words = text.split()
                last, given = (words[-1], box, False), (" ".join(words[:-1]), box, False)

    if last is not None:
        text, box, at = last
        value = text.strip(" ,.")
        out.fields["LAST_NAME"] = Field(value, calibrated(box.confidence, at), source=AT_LABEL if at else BY_POSITION,
                                        raw=text)
        out.slots["LAST_NAME"] = [text]
    if given is not None and reread is not None:
        given = (_respace_given(lay, given[0], given[1], reread), given[1], given[2])
    if given is not None:
        text, box, at = given
        first, middle, suffix = _split_given(text)
        if first:
            conf = calibrated(box.confidence, at)
            if not middle and (_signature_shortens(lay, first) or len(first) >= 10):
                conf = min(conf, SHAKY_CAP)  # perhaps glued given names ("CARONLYNN", "JEFFERYJAMES")
            src = AT_LABEL if at else BY_POSITION
            out.fields["FIRST_NAME"] = Field(first, conf, source=src, raw=text)
            out.slots["FIRST_NAME"] = [text]
            if middle:
                out.fields["MIDDLE_NAME"] = Field(middle, conf, source=src, raw=text)
            if suffix:
                out.fields["SUFFIX"] = Field(suffix, conf, source=src, raw=text)


# ------------------------------------------------------------------ class, restrictions, endorsements

def _codes(lay: Layout, owners, out: Reading) -> None:
    names = (("CLASS", r"CLASS|CL"), ("RESTRICTIONS", r"RESTRICTIONS?|RESTR?|RES|RSTR|RE"),
             ("ENDORSEMENTS", r"ENDORSEMENTS?|ENDORSE|END|EN"))
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
