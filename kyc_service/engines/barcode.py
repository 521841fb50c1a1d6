"""PDF417 barcodes on licence backs (zxing-cpp) and AAMVA data parsing.

The raw payload is taken from `.bytes` (zxing's `.text` may re-encode control characters).
"""

from __future__ import annotations

import re

from .fields import US_STATES, Field, make_date

BARCODE_CONFIDENCE = 99.0

ELEMENTS = {
    "DAQ": "DOCUMENT_NUMBER",
    "DCS": "LAST_NAME",
    "DAC": "FIRST_NAME",
    "DCT": "FIRST_NAME",
    "DAD": "MIDDLE_NAME",
    "DCU": "SUFFIX",
    "DBB": "DATE_OF_BIRTH",
    "DBA": "EXPIRATION_DATE",
    "DBD": "DATE_OF_ISSUE",
    "DAG": "ADDRESS",
    "DAI": "CITY_IN_ADDRESS",
    "DAJ": "STATE_IN_ADDRESS",
    "DAK": "ZIP_CODE_IN_ADDRESS",
    "DCA": "CLASS",
    "DCB": "RESTRICTIONS",
    "DCD": "ENDORSEMENTS",
}
DATE_ELEMENTS = {"DBB", "DBA", "DBD"}
EMPTY = {"", "NONE", "UNAVL", "UNAVAILABLE"}


def read_pdf417(rgb) -> bytes | None:
    """Raw bytes of the first PDF417 symbol in a PIL image, or None."""
    import zxingcpp

    for attempt in (rgb, rgb.convert("L")):
        results = zxingcpp.read_barcodes(
            attempt, formats=zxingcpp.BarcodeFormat.PDF417, try_rotate=True, try_downscale=True
        )
        for r in results:
            if r.valid and r.bytes:
                return bytes(r.bytes)
    return None


def parse_date(value: str, canadian: bool):
    """AAMVA dates: MMDDYYYY (US) or YYYYMMDD (Canada)."""
    digits = re.sub(r"\D", "", value)
    if len(digits) != 8:
        return None
    if canadian:
        return make_date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    d = make_date(int(digits[4:]), int(digits[:2]), int(digits[2:4]))
    return d or make_date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def elements(payload: str) -> dict[str, str]:
    """Element ID -> value from an AAMVA payload (all subfiles; first occurrence wins)."""
    start = payload.find("ANSI ")
    if start < 0:
        start = payload.find("AAMVA")
    if start < 0:
        return {}
    out: dict[str, str] = {}
    body = payload[start:]
    for raw in re.split(r"[\n\r\x1e]+", body):
        line = raw.strip()
        # an element at the start of a line, possibly after its subfile's designator ("DLDAQ...")
        m = re.match(r"^(?:DL|ID)?(D[A-Z]{2})(.*)$", line)
        if m is None:  # the header line, which ends with the first subfile's first element
            m = re.search(r"(?:DL|ID)(D[A-Z]{2})(.*)$", line)
        if m and m.group(1) not in out:
            out[m.group(1)] = m.group(2).strip()
    return out


def parse_aamva(payload: bytes | str) -> dict[str, Field]:
    """Textract-named fields from an AAMVA barcode payload."""
    text = payload.decode("latin-1") if isinstance(payload, (bytes, bytearray)) else payload
    els = elements(text)
    if not els:
        return {}
    # DCG (country) decides the date order; parse_date also falls back to YYYYMMDD when a
    # value is not a valid MMDDYYYY date
    canadian = els.get("DCG", "").strip().upper() == "CAN"
    out: dict[str, Field] = {}
    for code, name in ELEMENTS.items():
        value = els.get(code, "").strip()
        if name in out or not value:
            continue
        if value.upper() in EMPTY and name not in ("RESTRICTIONS", "ENDORSEMENTS"):
            continue
        if code in DATE_ELEMENTS:
            d = parse_date(value, canadian)
            if d:
                out[name] = Field(d.strftime("%m/%d/%Y") if not canadian else d.isoformat(), BARCODE_CONFIDENCE, d)
            continue
        if code == "DAK":
            digits = re.sub(r"[^0-9A-Z]", "", value.upper())
            if canadian:
                value = digits[:6]
            else:
                value = digits[:5] + (f"-{digits[5:9]}" if len(digits) >= 9 and digits[5:9] != "0000" else "")
        out[name] = Field(value, BARCODE_CONFIDENCE)
    state = out.get("STATE_IN_ADDRESS")
    if state and state.value.upper() in US_STATES:
        out["STATE_NAME"] = Field(US_STATES[state.value.upper()], BARCODE_CONFIDENCE)
    return out


def read_back(rgb) -> dict[str, Field]:
    """Fields from the licence back's barcode; {} when there is none."""
    raw = read_pdf417(rgb)
    return parse_aamva(raw) if raw else {}
