"""The holder's names: at their labels, else the lines right above the street line, in the order a
label, a comma, the signature or else the AAMVA order says.
"""

from __future__ import annotations

import re

from ..fields import AT_LABEL, BY_POSITION, SHAKY_CAP, Field, calibrated
from ..layout import GIVEN, LAST, NAME, OTHER, Layout
from .reading import Reading, as_letters, label_only, row_label, text_x0

SUFFIXES = {"JR", "SR", "II", "III", "IV", "V"}


# Printed words that are never a holder's name (headers, banners, codes).
CARD_WORDS = {
    "DRIVER",
    "DRIVERS",
    "DRIVER'S",
    "LICENSE",
    "LICENCE",
    "IDENTIFICATION",
    "USA",
    "DONOR",
    "VETERAN",
    "NONE",
    "FEDERAL",
    "LIMITS",
    "APPLY",
    "ENHANCED",
    "COMMERCIAL",
    "OPERATOR",
    "REAL",
    "NOT",
    "FOR",
    "PURPOSES",
    "ORGAN",
    "CLASS",
    "RESTRICTIONS",
    "ENDORSEMENTS",
    "SIGNATURE",
    "PERMIT",
    "INSTRUCTION",
    "LEARNER",
    "TEMPORARY",
    "UNDER",
    "UNTIL",
    "AGE",
    "LIMITED",
    "TERM",
    "VISITOR",
    "SAFE",
    "STATE",
    "SECRETARY",
    "DIRECTOR",
    "COMMISSIONER",
}


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
        words = [as_letters(w) for w in words]
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
        lab = row_label(lay, box)
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
            text = text[m.end() :]
        elif lookalike and not segs[1:]:
            key = GIVEN if lookalike.group(1) == "Z" else LAST
            text = box.text.strip()[lookalike.end() :].upper()
    name = _clean_name(text)
    return (name, key) if name else None


def _column_neighbour(lay: Layout, box, direction: int, tol: float, exclude):
    """The nearest box above (-1) or below (+1) `box`, aligned with it, within 1.8 lines."""
    h = box.height
    best = None
    x = text_x0(lay, box)
    for b in lay.boxes:
        if b is box or b in exclude or label_only(lay, b):
            continue
        if abs(text_x0(lay, b) - x) > tol and abs(b.x0 - box.x0) > tol:
            continue
        gap = (box.y0 - b.y1) if direction < 0 else (b.y0 - box.y1)
        if (direction < 0 and b.cy >= box.cy - 0.4 * h) or (direction > 0 and b.cy <= box.cy + 0.4 * h):
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


def read_names(lay: Layout, owners, out: Reading, block, reread=None) -> None:
    tol = 0.08 * lay.width
    block_ids = {id(b) for b in block}
    lines = _name_block(lay, block, tol)
    line_ids = {id(b) for _, b, _ in lines}
    # two or more name lines above the street: labels elsewhere on the card (misread field
    # numbers, stray text) do not override them
    labels_anywhere = len(lines) < 2
    last = given = None  # (text, box, at_label)
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
        out.fields["LAST_NAME"] = Field(
            value, calibrated(box.confidence, at), source=AT_LABEL if at else BY_POSITION, raw=text
        )
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
