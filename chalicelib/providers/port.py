"""The verification provider port: what the pipeline needs from a face and ID engine.

Two adapters implement it: `chalicelib.providers.aws` (Rekognition + Textract) and
`kyc_service.engines.adapter` (self-hosted engines, registered by the local stack through
`chalicelib.services.register_provider`, never in the Lambda package).

Images are passed as `ImageRef` (bucket + key): the AWS adapter hands them to the
services as S3 object references; the self-hosted adapter reads the bytes itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ImageRef:
    bucket: str
    key: str


@dataclass(frozen=True)
class FaceComparison:
    """Result of comparing the selfie (source) with the ID photo (target).

    similarity: best similarity 0-100 between the source face and a target face,
    None when either image has no face. Face counts are what each image holds.
    """

    similarity: float | None
    source_face_count: int
    target_face_count: int


class ProviderError(Exception):
    """Base class for provider failures."""


class ProviderThrottled(ProviderError):
    """Transient: throttled or unavailable after retries; the record is retried."""


class UnusableInput(ProviderError):
    """The image or document cannot be processed (unreadable, unsupported, too large).

    Becomes a decision with `reason`, never an endless retry.
    """

    def __init__(self, reason: str, review: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.review = review  # True: needs_review rather than rejected


class ProviderUnavailable(ProviderError):
    """No real provider is configured (e.g. the local stack without engines)."""


class VerificationProvider(Protocol):
    name: str

    def compare_faces(self, source: ImageRef, target: ImageRef) -> FaceComparison:
        """source = selfie, target = ID front."""

    def analyze_id(
        self, front: ImageRef, back: ImageRef | None = None, claim: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Return a response shaped like Textract AnalyzeID's.

        `claim` is the submitted details (`first_name`, `middle_name`, `last_name`,
        `date_of_birth` YYYY-MM-DD, `id_value`, `id_type`; any may be missing). The AWS
        adapter ignores it; the self-hosted reader may look for those values on the
        document and say where it found them (`KycClaim`, below).

        {"IdentityDocuments": [{"DocumentIndex": 1, "IdentityDocumentFields": [
            {"Type": {"Text": "FIRST_NAME"}, "ValueDetection": {"Text": "JOHN", "Confidence": 98.7}},
            {"Type": {"Text": "DATE_OF_BIRTH"}, "ValueDetection": {"Text": "01/12/1957",
                "NormalizedValue": {"Value": "1957-01-12T00:00:00", "ValueType": "Date"}, "Confidence": 97.0}},
            ...]}],
         "DocumentMetadata": {"Pages": 1}}
        A self-hosted engine may add "KycConsistency": {"mismatched_fields": ["DATE_OF_BIRTH"],
        "sources": {...}, "mrz_checks_failed": false} when a barcode or MRZ disagrees with
        the printed text (or an MRZ fails its check digits), and "KycClaim":
        {"FIRST_NAME": "label" | "elsewhere" | "absent", ...} for a reading guided by `claim`.
        Textract's MRZ_CODE field (zone lines joined by "\n") is read like any other field.
        """


@dataclass
class IdField:
    value: str
    confidence: float
    normalized: str | None = None  # dates: YYYY-MM-DD
    document: int = 1  # the DocumentIndex of the page it was read from


@dataclass
class IdReading:
    """What an AnalyzeID-shaped response says, every document of it.

    `readings`: per field, every non-empty reading, one per document (IdentityDocuments),
    the clearest first (highest confidence; ties by value, then DocumentIndex, so the order
    the pages came in never matters). `fields`: the clearest reading of each field.
    """

    fields: dict[str, IdField] = field(default_factory=dict)
    mismatched_fields: list[str] = field(default_factory=list)  # barcode/MRZ vs printed text
    readings: dict[str, list[IdField]] = field(default_factory=dict)
    mrz_checks_failed: bool = False  # a self-hosted reader's MRZ failed its check digits
    claim: dict[str, str] = field(default_factory=dict)  # KycClaim: field -> label|elsewhere|absent
    documents: int = 0  # how many IdentityDocuments the response holds

    def __post_init__(self) -> None:
        # a reading built from `fields` alone (tests, older callers) has one reading per field
        for name, item in self.fields.items():
            self.readings.setdefault(name, [item])


CLAIM_STATES = ("label", "elsewhere", "absent")


def _document_fields(document: dict[str, Any], index: int) -> dict[str, IdField]:
    out: dict[str, IdField] = {}
    for item in document.get("IdentityDocumentFields") or []:
        name = (item.get("Type") or {}).get("Text")
        detection = item.get("ValueDetection") or {}
        text = (detection.get("Text") or "").strip()
        if not name or not text:
            continue
        normalized = (detection.get("NormalizedValue") or {}).get("Value")
        if normalized and "T" in normalized:
            normalized = normalized.split("T", 1)[0]
        out[name] = IdField(text, float(detection.get("Confidence") or 0.0), normalized, index)
    return out


def reading_from_analyze_id(response: dict[str, Any]) -> IdReading:
    """Every document of an AnalyzeID-shaped response, merged into one IdReading.

    Documents are taken in DocumentIndex order; a field read on several of them keeps every
    reading (the decision cross-checks them), the clearest first."""
    documents = sorted(
        enumerate(response.get("IdentityDocuments") or []),
        key=lambda pair: (pair[1].get("DocumentIndex") or pair[0] + 1, pair[0]),
    )
    readings: dict[str, list[IdField]] = {}
    for position, document in documents:
        index = document.get("DocumentIndex") or position + 1
        for name, item in _document_fields(document, index).items():
            readings.setdefault(name, []).append(item)
    for items in readings.values():
        items.sort(key=lambda f: (-f.confidence, f.value, f.document))
    consistency = response.get("KycConsistency") or {}
    claim = {name: state for name, state in (response.get("KycClaim") or {}).items() if state in CLAIM_STATES}
    return IdReading(
        fields={name: items[0] for name, items in readings.items()},
        mismatched_fields=list(consistency.get("mismatched_fields") or []),
        readings=readings,
        mrz_checks_failed=bool(consistency.get("mrz_checks_failed")),
        claim=claim,
        documents=len(documents),
    )
