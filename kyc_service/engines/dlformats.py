"""US driver licence number formats as the states publish them, and reading a number by them.

Source: the National Traffic Safety Institute's table of state driver licence formats
(ntsi.com/drivers-license-format, reproduced by e.g. the Florida TraCS wiki), with formats
states introduced since: New Hampshire's random numbers ("NHL" + 8 digits for an operator
licence, "NHN" non-driver ID, "NHV" voter ID; NH DMV, October 2017), Washington's "WDL" + 9
characters, Oregon's letter + 6 digits, Massachusetts' "SA" + 7 digits. Nothing here is taken
from a sample card.

A format is a sequence of tokens: `A` letter, `N` digit, `X` letter or digit, `'LIT'` literal
characters, each with a count (`N12`, `N5-9`); `=12` fixes the total length.

`fits(state, number)` checks a reading; `read(state, raw)` returns the reading that fits with
the fewest changes of OCR look-alikes (0/O, 1/I, 5/S, 8/B, 2/Z, 6/G), never more than two.

`excluding(state)` (a context manager) hides one state's formats: the benchmark's
leave-one-state-out figure reads each card without its own state's knowledge.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from functools import cache

FORMATS: dict[str, tuple[str, ...]] = {
    "AL": ("N1-8",),
    "AK": ("N1-7",),
    "AZ": ("A1 N8", "N9", "A1 N1-8", "A2 N2-5"),
    "AR": ("N4-9",),
    "CA": ("A1 N7",),
    "CO": ("N9", "A1 N3-6", "A2 N2-5"),
    "CT": ("N9",),
    "DE": ("N1-7",),
    "DC": ("N7", "N9"),
    "FL": ("A1 N12",),
    "GA": ("N7-9",),
    "HI": ("A1 N8", "N9"),
    "ID": ("A2 N6 A1", "N9"),
    "IL": ("A1 N11-12",),
    "IN": ("A1 N9", "N9-10"),
    "IA": ("N9", "N3 A2 N4"),
    "KS": ("A1 N1 A1 N1 A1", "A1 N8", "N9"),
    "KY": ("A1 N8-9", "N9"),
    "LA": ("N1-9",),
    "ME": ("N7", "N7 A1", "N8"),
    "MD": ("A1 N12",),
    "MA": ("A1 N8", "N9", "'SA' N7"),
    "MI": ("A1 N10", "A1 N12"),
    "MN": ("A1 N12",),
    "MS": ("N9",),
    "MO": ("A1 N5-9", "A1 N6 'R'", "N8 A2", "N9 A1", "N9", "N3 A1 N6"),
    "MT": ("A1 N8", "N9", "N13-14"),
    "NE": ("A1 N6-8",),
    "NV": ("N9-10", "N12", "'X' N8"),
    "NH": ("N2 A3 N5", "'NH' A1 N8"),
    "NJ": ("A1 N14",),
    "NM": ("N8-9",),
    "NY": ("A1 N7", "A1 N18", "N8-9", "N16", "A8"),
    "NC": ("N1-12",),
    "ND": ("A3 N6", "N9"),
    "OH": ("A1 N4-8", "A2 N3-7", "N8"),
    "OK": ("A1 N9", "N9"),
    "OR": ("N1-9", "A1 N6"),
    "PA": ("N8",),
    "RI": ("N7", "A1 N6"),
    "SC": ("N5-11",),
    "SD": ("N6-10", "N12"),
    "TN": ("N7-9",),
    "TX": ("N7-8",),
    "UT": ("N4-10",),
    "VT": ("N8", "N7 'A'"),
    "VA": ("A1 N8-11", "N9"),
    "WA": ("A1-7 X5-11 =12", "'WDL' X9"),
    "WV": ("N7", "A1-2 N5-6"),
    "WI": ("A1 N13",),
    "WY": ("N9-10",),
}

TO_LETTER = {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B"}
TO_DIGIT = {
    "O": "0",
    "Q": "0",
    "D": "0",
    "U": "0",
    "I": "1",
    "L": "1",
    "Z": "2",
    "S": "5",
    "G": "6",
    "B": "8",
    "A": "4",
    "T": "7",
}
MAX_CHANGES = 2

_excluded: contextvars.ContextVar[frozenset] = contextvars.ContextVar("dl_excluded", default=frozenset())


@contextlib.contextmanager
def excluding(*states: str):
    """Hide these states' formats (leave-one-state-out measurement)."""
    token = _excluded.set(_excluded.get() | {s.upper() for s in states if s})
    try:
        yield
    finally:
        _excluded.reset(token)


def known(state: str | None) -> bool:
    return bool(state) and state.upper() in FORMATS and state.upper() not in _excluded.get()


@cache
def _tokens(fmt: str) -> tuple[tuple[tuple[str, int, int], ...], int | None]:
    tokens, total = [], None
    for part in fmt.split():
        if part.startswith("="):
            total = int(part[1:])
        elif part.startswith("'"):
            for ch in part.strip("'"):
                tokens.append(("=" + ch, 1, 1))
        else:
            m = re.fullmatch(r"([ANX])(\d+)(?:-(\d+))?", part)
            lo = int(m.group(2))
            tokens.append((m.group(1), lo, int(m.group(3) or lo)))
    return tuple(tokens), total


def compact(number: str) -> str:
    """Letters and digits only, upper case."""
    return re.sub(r"[^A-Z0-9]", "", (number or "").upper())


def _cost(ch: str, cls: str) -> tuple[int, str] | None:
    """(changes, character) to make `ch` fit the class, or None."""
    if cls.startswith("="):
        want = cls[1:]
        if ch == want:
            return 0, ch
        alt = TO_LETTER.get(ch) if want.isalpha() else TO_DIGIT.get(ch)
        return (1, want) if alt == want else None
    if cls == "X" or (cls == "A" and ch.isalpha()) or (cls == "N" and ch.isdigit()):
        return 0, ch
    alt = TO_LETTER.get(ch) if cls == "A" else TO_DIGIT.get(ch)
    return (1, alt) if alt else None


def _best_fit(text: str, fmt: str) -> tuple[int, str] | None:
    tokens, total = _tokens(fmt)
    if total is not None and len(text) != total:
        return None
    # classes per position for every way of spending the token counts
    best: tuple[int, str] | None = None

    def walk(ti: int, pos: int, changes: int, out: str):
        nonlocal best
        if changes > MAX_CHANGES or (best is not None and changes >= best[0]):
            return
        if ti == len(tokens):
            if pos == len(text):
                best = (changes, out)
            return
        cls, lo, hi = tokens[ti]
        acc, extra = "", 0
        for count in range(1, hi + 1):
            if pos + count > len(text):
                break
            step = _cost(text[pos + count - 1], cls)
            if step is None:
                break
            extra += step[0]
            acc += step[1]
            if count >= lo:
                walk(ti + 1, pos + count, changes + extra, out + acc)

    walk(0, 0, 0, "")
    return best


def fits(state: str | None, number: str) -> bool:
    if not known(state):
        return False
    text = compact(number)
    return any((fit := _best_fit(text, f)) is not None and fit[0] == 0 for f in FORMATS[state.upper()])


def read(state: str | None, number: str) -> tuple[str, int] | None:
    """(number fitted to the state's formats, changes made), or None when none fits within
    MAX_CHANGES (and never more than a quarter of the characters)."""
    if not known(state):
        return None
    text = compact(number)
    best = None
    for fmt in FORMATS[state.upper()]:
        fit = _best_fit(text, fmt)
        if fit and fit[0] <= max(0, len(text) // 4) and (best is None or fit[0] < best[0]):
            best = fit
    return (best[1], best[0]) if best else None


def apply_changes(printed: str, fitted: str) -> str:
    """`printed` (with its dashes and spaces) with the characters `fitted` changed."""
    out, i = [], 0
    for ch in printed.upper():
        if ch.isalnum() and i < len(fitted):
            out.append(fitted[i])
            i += 1
        else:
            out.append(ch)
    return "".join(out)
