"""`analyze(front, back=None, claim=None)`: read an ID document into a Textract-AnalyzeID-shaped
dict.

1. The document is found in the picture and flattened (`card.find_document`), read by OCR
   turned upright (`ocr.read_page`).
2. A machine-readable zone is looked for (`mrzread.find`). Passports and passport cards (an
   MRZ, "PASSPORT", or ICAO labels) are read by `passport_text`; everything else as a US licence
   or ID card front (`licence/`).
3. Machine-readable data wins over print only when it is trustworthy: an MRZ whose check digits
   all hold, or the back's PDF417 barcode. Fields where both are read and differ are listed in
   "KycConsistency": {"mismatched_fields": [...]}. An MRZ whose checks fail never overrides the
   print: it is reported with "mrz_checks_failed": true (and its MRZ_CODE at confidence <= 50).
4. With a `claim` (the submitted details) the document is also searched for each submitted
   value (`claim.apply`): "KycClaim" says per field whether it is printed at its label,
   elsewhere, or absent. Without one, the reading is blind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .fields import Field, comparable, mismatches, to_response


@dataclass
class FrontReading:
    fields: dict[str, Field]
    slots: dict[str, list[str]] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    mrz: object = None  # mrzread.MrzReading or None
    kind: str = "licence"  # "licence" or "passport"
    warped: bool = False
    rotation: int = 0


def read_front(img) -> FrontReading:
    """Printed fields, claim slots and the MRZ (if any) of a document front (PIL RGB)."""
    from . import card, mrzread, ocr, passport_text
    from .licence import parser as licence

    found = card.find_document(img)
    page = ocr.read_page(found.image)
    lines = page.lines
    zone = mrzread.find(lines)
    if zone is not None or passport_text.looks_like_passport(lines):
        printed = passport_text.parse(lines, page.width, page.height)
        slots = {
            name: [f.raw or f.value]
            for name, f in printed.items()
            if name in ("FIRST_NAME", "LAST_NAME", "DATE_OF_BIRTH", "DOCUMENT_NUMBER")
        }
        texts = [b.text for b in lines]
        return FrontReading(printed, slots, texts, zone, "passport", found.warped, page.rotation)
    reading = licence.parse(lines, page.width, page.height, reread=page.reread)
    return FrontReading(reading.fields, reading.slots, reading.texts, None, "licence", found.warped, page.rotation)


def _mrz_mismatches(machine: dict[str, Field], printed: dict[str, Field]) -> list[str]:
    """Fields where a valid MRZ and the print disagree. An MRZ name truncated at the end of
    its field is not a disagreement."""
    out = []
    for name in mismatches(machine, printed):
        if name in ("LAST_NAME", "FIRST_NAME", "MIDDLE_NAME"):
            a, b = comparable(name, machine[name]), comparable(name, printed[name])
            if len(a) >= 10 and b.startswith(a):
                continue
        out.append(name)
    return out


# Larger images are scaled down before reading (a JPEG decodes at reduced scale): a card filling
# most of a phone's 4032 x 3024 photograph is still ~1500 px wide, as wide as the sharpest fixture
# specimen, and a 49-megapixel image costs tens of MB instead of ~0.4 GB (make bench SECTIONS=memory).
ID_MAX_SIDE = 2560


def analyze(front_bytes: bytes, back_bytes: bytes | None = None, claim: dict | None = None) -> dict:
    """Textract-AnalyzeID-shaped response for one document (front, optional back)."""
    from .images import load_rgb

    front = load_rgb(front_bytes, ID_MAX_SIDE)
    back = load_rgb(back_bytes, ID_MAX_SIDE) if back_bytes else None
    reading = read_front(front)
    printed = reading.fields
    fields: dict[str, Field] = dict(printed)
    slots = {k: list(v) for k, v in reading.slots.items()}
    consistency: dict = {
        "mismatched_fields": [],
        "sources": {"machine_readable": None, "printed_fields": sorted(printed)},
    }
    zone = reading.mrz
    if zone is not None and zone.valid:
        machine = zone.fields()
        consistency["mismatched_fields"] = _mrz_mismatches(machine, printed)
        consistency["sources"]["machine_readable"] = "mrz"
        fields.update(machine)
        for name in ("FIRST_NAME", "LAST_NAME", "DATE_OF_BIRTH", "DOCUMENT_NUMBER"):
            if name in machine:
                slots.setdefault(name, []).append(
                    machine[name].value if name != "FIRST_NAME" else " ".join(zone.zone.given_names.split())
                )
    elif zone is not None:
        fields["MRZ_CODE"] = Field("\n".join(zone.lines), min(zone.confidence, 50.0))
        consistency["sources"]["machine_readable"] = "mrz_invalid"
        consistency["mrz_checks_failed"] = True
        consistency["failed_checks"] = zone.failed_checks
    elif back is not None:
        from . import barcode

        machine = barcode.read_back(back)
        if machine:
            consistency["mismatched_fields"] = mismatches(machine, printed)
            consistency["sources"]["machine_readable"] = "pdf417"
            fields.update(machine)
            fields.setdefault("ID_TYPE", Field("DRIVER LICENSE FRONT", 99.0))
            for name in ("FIRST_NAME", "LAST_NAME", "DATE_OF_BIRTH", "DOCUMENT_NUMBER"):
                if name in machine:
                    slots.setdefault(name, []).append(machine[name].value)
    response = to_response(fields, consistency["mismatched_fields"], consistency["sources"])
    response["KycConsistency"].update(
        {k: v for k, v in consistency.items() if k not in ("mismatched_fields", "sources")}
    )
    if claim:
        from . import claim as claims

        guided = dict(fields)
        found = claims.apply(claim, guided, slots, reading.texts, day_first=reading.kind == "passport")
        response = {
            **to_response(guided, consistency["mismatched_fields"], consistency["sources"]),
            "KycConsistency": response["KycConsistency"],
            "KycClaim": found,
        }
    return response
