"""The verification provider port: what the pipeline needs from a face and ID engine.

Two adapters implement it: `chalicelib.providers.aws` (Rekognition + Textract) and
`kyc_service.engines.adapter` (self-hosted engines, registered by the local stack through
`chalicelib.services.register_provider`, never in the Lambda package).

Images are passed as `ImageRef` (bucket + key): the AWS adapter hands them to the
services as S3 object references; the self-hosted adapter reads the bytes itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    quality: FaceQuality | None = None  # the selfie's one face, measured (the quality gates)
    portrait: Portrait | None = None  # the face on the ID that the selfie was compared with


@dataclass(frozen=True)
class FaceQuality:
    """What a provider measured of the selfie's one face; `domain/quality.py` judges it.

    source: "aws" (DetectFaces attributes) or "selfhosted" (dlib's 5-point landmarks). None where
    the provider does not measure it. Angles in degrees; size: the face box's height as a fraction
    of the image's; confidence 0-100; sharpness: AWS's Quality.Sharpness (0-100) or the variance
    of the Laplacian of the face crop (self-hosted, grey levels)."""

    source: str
    size: float | None = None
    confidence: float | None = None
    yaw: float | None = None
    pitch: float | None = None
    sharpness: float | None = None
    brightness: float | None = None
    sunglasses: bool | None = None


@dataclass(frozen=True)
class Portrait:
    """The face found on the ID front: its bounding box (fractions of the image, as Rekognition
    gives them) and, from a provider that decodes images, the crop's JPEG bytes."""

    box: dict[str, float]
    crop: bytes | None = None


@dataclass(frozen=True)
class FaceHit:
    """A stored face that resembles the probe: whose it is (`external_id`, the owner reference the
    face was indexed under) and how closely (0-100, on the 1:1 scale)."""

    external_id: str
    similarity: float


@dataclass(frozen=True)
class IndexedFace:
    """A face stored for the duplicate search: Rekognition's face ids in `collection`, or (the
    self-hosted provider) the embedding, base64 of 128 little-endian float32."""

    face_ids: tuple[str, ...] = ()
    collection: str | None = None
    embedding: str | None = None


@dataclass(frozen=True)
class StoredFace:
    external_id: str
    embedding: str


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


class LivenessUnavailable(ProviderError):
    """The provider has no liveness engine (the self-hosted one): never a silent pass."""


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


class FaceIndex(Protocol):
    """The duplicate search (optional on a provider: `face_index(provider)`). Tenant-scoped: every
    call names the tenant, and neither adapter can reach another tenant's faces."""

    def index_face(self, tenant: str, image: ImageRef, external_id: str) -> IndexedFace | None:
        """Store the image's one face under `external_id`; None when it holds no usable face."""

    def search_faces(
        self, tenant: str, image: ImageRef, threshold: float, stored: Callable[[], Iterable[StoredFace]]
    ) -> list[FaceHit]:
        """The tenant's stored faces at least `threshold` (0-100) similar to the image's face.
        `stored` yields the tenant's stored embeddings (the self-hosted search; AWS searches its
        collection)."""


class LivenessProvider(Protocol):
    """Face Liveness (optional on a provider: `liveness_of(provider)`; the self-hosted one has none)."""

    def create_liveness_session(self, output_prefix: str) -> str:
        """A new session whose reference image is written under `output_prefix` of the stage bucket."""

    def liveness_result(self, session_id: str) -> dict[str, Any]:
        """GetFaceLivenessSessionResults' answer (SessionId, Status, Confidence, ReferenceImage)."""


def face_index(provider: object) -> FaceIndex | None:
    """The provider's duplicate search, if it has one."""
    if callable(getattr(provider, "index_face", None)) and callable(getattr(provider, "search_faces", None)):
        return provider  # type: ignore[return-value]
    return None


def liveness_of(provider: object) -> LivenessProvider | None:
    if callable(getattr(provider, "create_liveness_session", None)):
        return provider  # type: ignore[return-value]
    return None
