"""Document numbers: at their label, else by the state's published format, then by shape."""

from __future__ import annotations

import re

from .. import dlformats
from ..fields import AT_LABEL, BY_POSITION, SHAKY_CAP, Field, calibrated
from ..layout import IGNORE_DATE, NUMBER, Layout
from .dates import DATE_RE
from .reading import Reading, values

NUMBER_TOKEN = re.compile(r"^[A-Z0-9][A-Z0-9\-]{1,24}$")


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


def read_numbers(lay: Layout, owners, out: Reading, city, block, reread=None) -> None:
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
    for seg in values(lay):
        owner = owners.get(id(seg))
        if id(seg.box) in skip or (
            owner and (owner[0].key == NUMBER or owner[1] == "box" or owner[0].key == IGNORE_DATE)
        ):
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
        out.fields["DOCUMENT_NUMBER"] = Field(value, conf, source=BY_POSITION if key[1] else AT_LABEL, raw=token)
        out.slots["DOCUMENT_NUMBER"] = [token, value]
