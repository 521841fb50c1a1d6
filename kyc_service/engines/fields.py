"""Field values read from a document and the Textract-AnalyzeID-shaped response."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

DATE_FIELDS = ("DATE_OF_BIRTH", "EXPIRATION_DATE", "DATE_OF_ISSUE")
US_STATES = {
    "AL": "ALABAMA",
    "AK": "ALASKA",
    "AZ": "ARIZONA",
    "AR": "ARKANSAS",
    "CA": "CALIFORNIA",
    "CO": "COLORADO",
    "CT": "CONNECTICUT",
    "DE": "DELAWARE",
    "DC": "DISTRICT OF COLUMBIA",
    "FL": "FLORIDA",
    "GA": "GEORGIA",
    "HI": "HAWAII",
    "ID": "IDAHO",
    "IL": "ILLINOIS",
    "IN": "INDIANA",
    "IA": "IOWA",
    "KS": "KANSAS",
    "KY": "KENTUCKY",
    "LA": "LOUISIANA",
    "ME": "MAINE",
    "MD": "MARYLAND",
    "MA": "MASSACHUSETTS",
    "MI": "MICHIGAN",
    "MN": "MINNESOTA",
    "MS": "MISSISSIPPI",
    "MO": "MISSOURI",
    "MT": "MONTANA",
    "NE": "NEBRASKA",
    "NV": "NEVADA",
    "NH": "NEW HAMPSHIRE",
    "NJ": "NEW JERSEY",
    "NM": "NEW MEXICO",
    "NY": "NEW YORK",
    "NC": "NORTH CAROLINA",
    "ND": "NORTH DAKOTA",
    "OH": "OHIO",
    "OK": "OKLAHOMA",
    "OR": "OREGON",
    "PA": "PENNSYLVANIA",
    "RI": "RHODE ISLAND",
    "SC": "SOUTH CAROLINA",
    "SD": "SOUTH DAKOTA",
    "TN": "TENNESSEE",
    "TX": "TEXAS",
    "UT": "UTAH",
    "VT": "VERMONT",
    "VA": "VIRGINIA",
    "WA": "WASHINGTON",
    "WV": "WEST VIRGINIA",
    "WI": "WISCONSIN",
    "WY": "WYOMING",
    "PR": "PUERTO RICO",
    "GU": "GUAM",
    "VI": "VIRGIN ISLANDS",
}


# How a value was placed; the confidence follows from it (see `calibrated`).
AT_LABEL = "label"  # read where its label says, pattern passed
BY_POSITION = "position"  # placed by layout or order alone (no legible label)
MACHINE = "machine"  # barcode or MRZ with its checks


@dataclass
class Field:
    value: str
    confidence: float  # 0-100
    date: date | None = None  # date fields only
    source: str = AT_LABEL  # AT_LABEL, BY_POSITION, MACHINE
    raw: str | None = None  # the text at the field's place, as recognised


CLEAR = 85.0  # the decision's line: >= CLEAR is a clear reading, below is shaky
SHAKY_CAP = 80.0


def calibrated(ocr_confidence: float, at_label: bool, pattern_ok: bool = True) -> float:
    """Confidence on the decision's scale: a value read at its label, passing its pattern, with
    a good OCR score keeps the OCR score (>= 85 when that is >= 85); anything placed by
    position or order alone, or failing its pattern, stays below 85."""
    conf = max(0.0, min(99.0, float(ocr_confidence)))
    if not (at_label and pattern_ok):
        conf = min(conf, SHAKY_CAP)
    return round(conf, 2)


def make_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def comparable(name: str, f: Field) -> str:
    """Canonical form for comparing two readings of one field."""
    if f.date is not None:
        return f.date.isoformat()
    text = re.sub(r"[^A-Z0-9]", "", f.value.upper())
    if name == "ZIP_CODE_IN_ADDRESS":
        text = text[:5]
    return text


def mismatches(primary: dict[str, Field], printed: dict[str, Field]) -> list[str]:
    """Fields present in both the machine-readable source and the printed text that differ."""
    out = []
    for name, f in primary.items():
        other = printed.get(name)
        if other is None or name in ("ID_TYPE", "MRZ_CODE", "STATE_NAME"):
            continue
        if comparable(name, f) != comparable(name, other):
            out.append(name)
    return sorted(out)


def to_response(fields: dict[str, Field], mismatched: list[str] | None = None, sources: dict | None = None) -> dict:
    """Build a response shaped like Textract AnalyzeID's."""
    items = []
    for name, f in fields.items():
        det = {"Text": f.value, "Confidence": round(float(f.confidence), 2)}
        if name in DATE_FIELDS and f.date is not None:
            det["NormalizedValue"] = {"Value": f.date.isoformat() + "T00:00:00", "ValueType": "Date"}
        items.append({"Type": {"Text": name}, "ValueDetection": det})
    response = {
        "IdentityDocuments": [{"DocumentIndex": 1, "IdentityDocumentFields": items}],
        "DocumentMetadata": {"Pages": 1},
    }
    if mismatched is not None:
        response["KycConsistency"] = {"mismatched_fields": list(mismatched), "sources": dict(sources or {})}
    return response
