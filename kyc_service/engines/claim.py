"""Reading guided by the claim: the verifier knows what the customer submitted.

For each submitted field (first name, last name, date of birth, document number) the document
is searched for that exact value, after normalisation only (case, accents, spaces, dashes and
punctuation; dates compared as dates, whatever their printed format):
- "label":     printed where the document puts that field (the text the blind reader found at
               the field's label or place, or the valid machine-readable zone / barcode);
- "elsewhere": printed on the document, but not there (a signature, another field, a ghost
               image): this never verifies;
- "absent":    not printed anywhere the reader can see.

Nothing is fuzzy here: a different value is never turned into a match. Where the answer is
"label", the response's field holds the submitted value as printed (a glued "CARONLYNN" at the
given-names label with a submitted first name CARON and middle name LYNN reads as CARON + LYNN).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from .fields import CLEAR, Field

LABEL, ELSEWHERE, ABSENT = "label", "elsewhere", "absent"
# confidence of a field confirmed by an exact match at its place: a clear reading (>= CLEAR)
CONFIRMED = max(90.0, CLEAR)


def compact(value) -> str:
    text = unicodedata.normalize("NFKD", str(value or "")).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def tokens(value) -> list[str]:
    """Words of a text: letters or digits, split where they meet too ("1SAMPLE" = 1, SAMPLE)."""
    text = unicodedata.normalize("NFKD", str(value or "")).encode("ascii", "ignore").decode()
    return re.findall(r"[A-Z]+|[0-9]+", text.upper())


def _claim_date(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return None


def _dates_in(text: str, day_first: bool) -> list[date]:
    """Full dates printed in `text`, numeric ones read in the document's own order (month
    first on US cards, day first on passports): never both ways."""
    if day_first:
        from .passport_text import parse_date

        found = parse_date(text)
        return [found[0]] if found else []
    from .licence.dates import find_dates

    return [d for d, _ in find_dates(text.upper())]


def _short_dates_in(text: str) -> list[tuple[int, int, int]]:
    """(month, day, two-digit year) of ghost dates such as "01/01/74" (elsewhere only)."""
    out = []
    for m in re.finditer(r"(?<!\d)(\d{2})[/\-.](\d{2})[/\-.](\d{2})(?!\d)", text):
        out.append((int(m.group(1)), int(m.group(2)), int(m.group(3))))
    return out


def _elsewhere_text(value: str, texts: list[str], exclude: set[str]) -> bool:
    want = compact(value)
    if not want:
        return False
    for text in texts:
        if compact(text) in exclude:
            continue
        if compact(text) == want or want in tokens(text):
            return True
        # a multi-word value printed as consecutive words of a text
        words = tokens(text)
        n = len(tokens(value))
        if n > 1 and any("".join(words[i : i + n]) == want for i in range(len(words) - n + 1)):
            return True
    return False


def apply(
    claim: dict, fields: dict[str, Field], slots: dict[str, list[str]], texts: list[str], day_first: bool = False
) -> dict[str, str]:
    """Search the document for the claimed values; update `fields` where found at the label.

    Returns the `KycClaim` object: {"FIRST_NAME": "label" | "elsewhere" | "absent", ...} for
    each field the claim holds."""
    result: dict[str, str] = {}
    first, middle = (claim.get("first_name") or "").strip(), (claim.get("middle_name") or "").strip()
    last = (claim.get("last_name") or "").strip()

    if first:
        slot = slots.get("FIRST_NAME", [])
        want, whole = compact(first), compact(first + middle)
        found = None  # (middle name as printed or None)
        for text in slot:
            words = tokens(text)
            if not words:
                continue
            if compact(text) == whole and middle:
                found = middle.upper()  # given names glued by the printer or the recogniser
            elif compact(text) == want:
                found = ""
            elif words[0] == want:
                found = " ".join(words[1:])
            elif len(words[0]) == 1 and len(words) > 1 and words[1] == want:
                found = " ".join(words[2:])  # an initial before the name used ("Q. JOHN")
            if found is not None:
                break
        if found is not None:
            result["FIRST_NAME"] = LABEL
            conf = max(fields["FIRST_NAME"].confidence if "FIRST_NAME" in fields else 0.0, CONFIRMED)
            fields["FIRST_NAME"] = Field(first.upper(), conf, raw=slot[0])
            if found:
                fields["MIDDLE_NAME"] = Field(found, conf, raw=slot[0])
            else:
                fields.pop("MIDDLE_NAME", None)
        elif _elsewhere_text(first, texts, set()):
            result["FIRST_NAME"] = ELSEWHERE
        else:
            result["FIRST_NAME"] = ABSENT

    if last:
        slot = slots.get("LAST_NAME", [])
        if compact(last) in {compact(s) for s in slot}:
            result["LAST_NAME"] = LABEL
            conf = max(fields["LAST_NAME"].confidence if "LAST_NAME" in fields else 0.0, CONFIRMED)
            fields["LAST_NAME"] = Field(last.upper(), conf, raw=slot[0])
        elif _elsewhere_text(last, texts, set()):
            result["LAST_NAME"] = ELSEWHERE
        else:
            result["LAST_NAME"] = ABSENT

    dob = _claim_date(claim.get("date_of_birth"))
    if claim.get("date_of_birth"):
        slot = slots.get("DATE_OF_BIRTH", [])
        at = [d for s in slot for d in _dates_in(s, day_first)]
        if fields.get("DATE_OF_BIRTH") is not None and fields["DATE_OF_BIRTH"].date is not None:
            at = [fields["DATE_OF_BIRTH"].date] + at
        if dob is not None and dob in at:
            result["DATE_OF_BIRTH"] = LABEL
            old = fields.get("DATE_OF_BIRTH")
            conf = max(old.confidence if old else 0.0, CONFIRMED)
            fields["DATE_OF_BIRTH"] = Field(old.value if old and old.date == dob else slot[0], conf, dob, raw=slot[0])
        elif dob is not None and (
            any(dob in _dates_in(t, day_first) for t in texts)
            or any((dob.month, dob.day, dob.year % 100) in _short_dates_in(t) for t in texts)
        ):
            result["DATE_OF_BIRTH"] = ELSEWHERE
        else:
            result["DATE_OF_BIRTH"] = ABSENT

    number = (claim.get("id_value") or "").strip()
    if number:
        slot = slots.get("DOCUMENT_NUMBER", [])
        if compact(number) and compact(number) in {compact(s) for s in slot}:
            result["DOCUMENT_NUMBER"] = LABEL
            old = fields.get("DOCUMENT_NUMBER")
            conf = max(old.confidence if old else 0.0, CONFIRMED)
            printed = old.value if old and compact(old.value) == compact(number) else number.upper()
            fields["DOCUMENT_NUMBER"] = Field(printed, conf, raw=slot[0])
        elif _elsewhere_text(number, texts, set()):
            result["DOCUMENT_NUMBER"] = ELSEWHERE
        else:
            result["DOCUMENT_NUMBER"] = ABSENT
    return result
