"""`analyze(front, back=None)`: read an ID document into a Textract-AnalyzeID-shaped dict.

Passports / ID cards with an MRZ: MRZ fields (check digits verified) win over the printed
text. Licences: the back's PDF417 AAMVA barcode wins over the front's printed text. Where
both sources hold a field and disagree, the field is listed in
"KycConsistency": {"mismatched_fields": [...]}.
"""
from __future__ import annotations

from .fields import Field, mismatches, to_response

REQUIRED = ("DOCUMENT_NUMBER", "LAST_NAME", "FIRST_NAME", "DATE_OF_BIRTH")


def _ocr_rows(img):
    from . import ocr

    return ocr.rows(ocr.read_boxes(img))


def _greyscale(img):
    """High-contrast greyscale: keeps red or pale text that a colour pass can lose."""
    from PIL import ImageOps

    return ImageOps.autocontrast(img.convert("L"), cutoff=1).convert("RGB")


def read_front(img) -> tuple[dict[str, Field], dict[str, Field], str | None]:
    """(printed fields, machine-readable fields, machine source) of a document front."""
    from . import idtext, mrzread, passport_text

    rows = _ocr_rows(img)
    texts = ["".join(b.text for b in row) for row in rows]
    mrz = mrzread.find_mrz(texts)
    if mrz is not None:
        # confidence of the MRZ fields: the OCR confidence of the rows they came from
        conf = min((b.confidence for row in rows for b in row
                    if len(mrzread.normalise("".join(x.text for x in row))) >= 26), default=0.0)
        mrz = mrzread.find_mrz(texts, confidence=min(conf, 99.0) if mrz.valid else min(conf, 50.0))
    if mrz is not None:
        return passport_text.parse_rows(rows), mrz.fields, "mrz" if mrz.valid else "mrz_invalid"
    printed = idtext.parse_rows(rows)
    if any(name not in printed for name in REQUIRED):
        second = idtext.parse_rows(_ocr_rows(_greyscale(img)))
        for name, f in second.items():
            printed.setdefault(name, f)
    return printed, {}, None


def analyze(front_bytes: bytes, back_bytes: bytes | None = None) -> dict:
    """Textract-AnalyzeID-shaped response for one document (front, optional back)."""
    from .images import load_rgb

    front = load_rgb(front_bytes)
    back = load_rgb(back_bytes) if back_bytes else None
    printed, machine, source = read_front(front)
    if back is not None and not machine:
        from . import barcode

        machine = barcode.read_back(back)
        source = "pdf417" if machine else None
    fields: dict[str, Field] = dict(printed)
    fields.update(machine)  # machine-readable data wins
    if "ID_TYPE" not in fields and machine:
        fields["ID_TYPE"] = Field("DRIVER LICENSE FRONT", 99.0)
    mismatched = mismatches(machine, printed) if machine else []
    return to_response(fields, mismatched,
                       {"machine_readable": source, "printed_fields": sorted(printed)})
