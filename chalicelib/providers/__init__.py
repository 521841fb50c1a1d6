"""The verification provider port: what the pipeline needs from a face and ID engine.

Two adapters implement it: `chalicelib.providers.aws` (Rekognition + Textract) and
`kyc_service.engines.adapter` (self-hosted engines, imported only when a stage
selects them, never at import time and never in the Lambda package).

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

    def analyze_id(self, front: ImageRef, back: ImageRef | None = None) -> dict[str, Any]:
        """Return a response shaped like Textract AnalyzeID's.

        {"IdentityDocuments": [{"DocumentIndex": 1, "IdentityDocumentFields": [
            {"Type": {"Text": "FIRST_NAME"}, "ValueDetection": {"Text": "JOHN", "Confidence": 98.7}},
            {"Type": {"Text": "DATE_OF_BIRTH"}, "ValueDetection": {"Text": "01/12/1957",
                "NormalizedValue": {"Value": "1957-01-12T00:00:00", "ValueType": "Date"}, "Confidence": 97.0}},
            ...]}],
         "DocumentMetadata": {"Pages": 1}}
        A self-hosted engine may add "KycConsistency": {"mismatched_fields": ["DATE_OF_BIRTH"],
        "sources": {...}} when a barcode or MRZ disagrees with the printed text.
        """


@dataclass
class IdField:
    value: str
    confidence: float
    normalized: str | None = None  # dates: YYYY-MM-DD


@dataclass
class IdReading:
    fields: dict[str, IdField] = field(default_factory=dict)
    mismatched_fields: list[str] = field(default_factory=list)  # barcode/MRZ vs printed text


def reading_from_analyze_id(response: dict[str, Any]) -> IdReading:
    """Flatten an AnalyzeID-shaped response (first document) into an IdReading."""
    reading = IdReading()
    docs = response.get("IdentityDocuments") or []
    if docs:
        for item in docs[0].get("IdentityDocumentFields", []):
            name = (item.get("Type") or {}).get("Text")
            detection = item.get("ValueDetection") or {}
            text = (detection.get("Text") or "").strip()
            if not name or not text:
                continue
            normalized = (detection.get("NormalizedValue") or {}).get("Value")
            if normalized and "T" in normalized:
                normalized = normalized.split("T", 1)[0]
            reading.fields[name] = IdField(text, float(detection.get("Confidence", 0.0)), normalized)
    consistency = response.get("KycConsistency") or {}
    reading.mismatched_fields = list(consistency.get("mismatched_fields") or [])
    return reading


def get_provider() -> VerificationProvider:
    """The provider the stage selects (KYC_PROVIDER)."""
    from chalicelib.config import settings

    name = settings().provider
    if name == "aws":
        from chalicelib.providers.aws import AwsProvider
        return AwsProvider()
    if name == "selfhosted":
        try:
            from kyc_service.engines.adapter import SelfHostedProvider
        except ImportError as exc:  # engines not installed
            raise ProviderUnavailable(
                "KYC_PROVIDER=selfhosted but the self-hosted engines are not installed "
                "(pip install -r requirements-engines.txt)") from exc
        return SelfHostedProvider.shared()
    raise ProviderUnavailable(f"no verification provider configured (KYC_PROVIDER={name!r})")
