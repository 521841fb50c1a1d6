"""The recorded AWS responses in ../shared/fixtures/aws and the labels of the documents they
read (../shared/fixtures/ids), as the decision tests use them. Every helper skips the calling
test with a clear message when the fixtures folder is absent (tests/conftest.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from typing import Any

from tests.conftest import fixtures_dir

LICENCES = "aws/analyze-id/us-licences"
ID_TYPES = {"DRIVER LICENSE": "Driving license", "ID CARD": "ID card"}


def load(relative: str) -> dict[str, Any]:
    """A recorded response, e.g. load("aws/analyze-id/trp-passport.json")."""
    folder, _, name = relative.rpartition("/")
    return json.loads((fixtures_dir(folder) / name).read_text())


def licence_states() -> list[str]:
    return sorted(p.stem for p in fixtures_dir(LICENCES).glob("*.json"))


def licence_labels() -> dict[str, dict[str, Any]]:
    return json.loads((fixtures_dir("ids/us-licences") / "labels.json").read_text())


def holder(label: dict[str, Any]) -> dict[str, str]:
    """The holder's own details as the card prints them (create_or_update fields)."""
    return {
        "first_name": label["FIRST_NAME"],
        "middle_name": label["MIDDLE_NAME"] or "",
        "last_name": label["LAST_NAME"],
        "date_of_birth": label["DATE_OF_BIRTH"],
        "id_value": label["DOCUMENT_NUMBER_PRINTED"],
        "id_type": ID_TYPES[label["ID_TYPE"]],
    }


def holder_variants(label: dict[str, Any]) -> list[dict[str, str]]:
    """The holder's details with each given-name reading the card itself leaves open
    (labels' accept_alternatives: "Q. JOHN" as first Q or first JOHN)."""
    alternatives = label.get("accept_alternatives") or {}
    firsts = alternatives.get("FIRST_NAME") or []
    middles = alternatives.get("MIDDLE_NAME") or []
    out = []
    for i, first in enumerate(firsts):
        if first is None or first == label["FIRST_NAME"]:
            continue
        middle = middles[i] if i < len(middles) else None
        out.append({**holder(label), "first_name": first, "middle_name": middle or ""})
    return out


def judged_on(label: dict[str, Any]) -> dt.date:
    """The day before the card's printed expiry: the card is in date."""
    return dt.date.fromisoformat(label["EXPIRATION_DATE"]) - dt.timedelta(days=1)


def textract_fields(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The first document's ValueDetection per field (the us-licence responses have one)."""
    document = response["IdentityDocuments"][0]
    return {f["Type"]["Text"]: f["ValueDetection"] for f in document["IdentityDocumentFields"]}


def _letters(text: str | None) -> str:
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().upper()
    return re.sub(r"[^A-Z]", "", text)


def _alnum(text: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())


def read_right(response: dict[str, Any], label: dict[str, Any]) -> dict[str, bool]:
    """Whether Textract read each core field as the label says, scored as ids/README.md does
    (names: letters only; the number: letters and digits; dates: the normalised value)."""
    fields = textract_fields(response)

    def text(name: str) -> str | None:
        return (fields.get(name) or {}).get("Text")

    def normalized(name: str) -> str:
        return ((fields.get(name) or {}).get("NormalizedValue") or {}).get("Value", "")[:10]

    return {
        "FIRST_NAME": _letters(text("FIRST_NAME")) == _letters(label["FIRST_NAME"]),
        "LAST_NAME": _letters(text("LAST_NAME")) == _letters(label["LAST_NAME"]),
        "DATE_OF_BIRTH": normalized("DATE_OF_BIRTH") == label["DATE_OF_BIRTH"],
        "DOCUMENT_NUMBER": _alnum(text("DOCUMENT_NUMBER")) == _alnum(label["DOCUMENT_NUMBER"]),
        "EXPIRATION_DATE": normalized("EXPIRATION_DATE") == label["EXPIRATION_DATE"],
    }


# --- changed details (someone else's, on this card) ---------------------------------------------

FIELD_WORDS = {"last_name": "last name", "date_of_birth": "date of birth", "id_value": "document number"}
OTHER_SURNAMES = ("HARRINGTON", "OKONKWO")


def _rotate(ch: str, digits: int, letters: int) -> str:
    if ch.isdigit():
        return str((int(ch) + digits) % 10)
    if ch.isalpha():
        return chr((ord(ch.upper()) - 65 + letters) % 26 + 65)
    return ch


def changed(details: dict[str, str], name: str) -> str:
    """Another person's value for a field: a different surname, a birth date seven years and
    three days off, every character of the number replaced."""
    if name == "last_name":
        return next(s for s in OTHER_SURNAMES if s[0] != details["last_name"][:1].upper())
    if name == "date_of_birth":
        born = dt.date.fromisoformat(details["date_of_birth"])
        return (born.replace(year=born.year - 7, day=min(born.day, 28)) + dt.timedelta(days=3)).isoformat()
    return "".join(_rotate(ch, 5, 13) for ch in details["id_value"])


def one_off(details: dict[str, str], name: str) -> str:
    """A value one character (or one day) away: a typo, or a near copy."""
    if name == "last_name":
        last = details["last_name"]
        return last[:-1] + ("X" if last[-1].upper() != "X" else "Y")
    if name == "date_of_birth":
        return (dt.date.fromisoformat(details["date_of_birth"]) + dt.timedelta(days=1)).isoformat()
    number = details["id_value"]
    i = max(i for i, ch in enumerate(number) if ch.isalnum())
    return number[:i] + _rotate(number[i], 1, 1) + number[i + 1 :]


def clear_reading(response: dict[str, Any], name: str, today: dt.date) -> bool:
    """Whether Textract read the field clearly: confidence >= 85 and a plausible value."""
    from chalicelib.domain import dates

    field = {"last_name": "LAST_NAME", "date_of_birth": "DATE_OF_BIRTH", "id_value": "DOCUMENT_NUMBER"}[name]
    value = textract_fields(response).get(field) or {}
    if not (value.get("Text") or "").strip() or value.get("Confidence", 0) < 85:
        return False
    if field == "DATE_OF_BIRTH":
        normalized = (value.get("NormalizedValue") or {}).get("Value")
        return bool(dates.field_date_readings(value["Text"], normalized, today=today))
    return True
