"""The AWS adapter of the provider port: Rekognition for faces, Textract AnalyzeID for IDs.

Images are passed to the services as S3 object references; nothing is downloaded
into the Lambda. Clients come from `chalicelib.aws.client` on first use (or are
injected, for tests). One retry policy per call: botocore's standard mode, set once in
`chalicelib.aws` (exponential backoff with jitter, 5 attempts). What is still transient after it
is raised as `ProviderThrottled` (the stream record is retried); errors that mean the image or
document itself cannot be used become `UnusableInput`.

Log lines (the structured logger) name the operation, the error code and botocore's retry
count only: never a key, a name or a number.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from chalicelib.logs import logger
from chalicelib.providers.port import (
    FaceComparison,
    FaceHit,
    FaceQuality,
    ImageRef,
    IndexedFace,
    Portrait,
    ProviderThrottled,
    StoredFace,
    UnusableInput,
)

# DetectFaces of the selfie: the default attributes (box, confidence, pose, quality) and sunglasses
DETECT_ATTRIBUTES = ["DEFAULT", "SUNGLASSES"]
SEARCH_MAX_FACES = 10

TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerError",
        "InternalServerErrorException",
        "InternalFailure",
        "LimitExceeded",
        "LimitExceededException",
    }
)

# error code -> (plain reason, needs a human rather than a resubmission)
_UNUSABLE: dict[str, tuple[str, bool]] = {
    "InvalidImageFormatException": ("the image is not in a supported format (JPEG or PNG)", False),
    "ImageTooLargeException": ("the image is too large to be processed", False),
    "InvalidS3ObjectException": ("the uploaded image could not be read from storage", True),
    "UnsupportedDocumentException": ("the document is not in a supported format", False),
    "BadDocumentException": ("the document image could not be read", False),
    "DocumentTooLargeException": ("the document image is too large to be processed", False),
    "SessionNotFoundException": (
        "the liveness session was not found or has expired; do the liveness check again",
        False,
    ),
}
_INVALID_PARAMETER = {
    "CompareFaces": "no usable face was found in the selfie or the ID photo",
    "DetectFaces": "the selfie could not be processed",
    "IndexFaces": "the selfie could not be processed",
    "AnalyzeID": "the document image could not be processed",
}


def _s3_object(ref: ImageRef) -> dict[str, Any]:
    return {"S3Object": {"Bucket": ref.bucket, "Name": ref.key}}


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return (response.get("Error") or {}).get("Code")
    return None


def _is_transient(exc: Exception) -> bool:
    from botocore.exceptions import ConnectionClosedError, ConnectionError, ReadTimeoutError

    if isinstance(exc, (ConnectionError, ReadTimeoutError, ConnectionClosedError)):
        return True
    if _error_code(exc) in TRANSIENT_CODES:
        return True
    status = (getattr(exc, "response", None) or {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
    return isinstance(status, int) and status >= 500


def _unusable(operation: str, exc: Exception) -> UnusableInput | None:
    code = _error_code(exc)
    if code == "InvalidParameterException":
        return UnusableInput(_INVALID_PARAMETER.get(operation, "the image could not be processed"))
    if code in _UNUSABLE:
        reason, review = _UNUSABLE[code]
        return UnusableInput(reason, review=review)
    return None


class AwsProvider:
    """Rekognition CompareFaces/DetectFaces and Textract AnalyzeID behind the provider port."""

    name = "aws"

    def __init__(self, rekognition: Any = None, textract: Any = None) -> None:
        self._rekognition = rekognition
        self._textract = textract

    @property
    def rekognition(self) -> Any:
        if self._rekognition is None:
            from chalicelib.aws import client

            self._rekognition = client("rekognition")
        return self._rekognition

    @property
    def textract(self) -> Any:
        if self._textract is None:
            from chalicelib.aws import client

            self._textract = client("textract")
        return self._textract

    # -- the port ---------------------------------------------------------------------------

    def compare_faces(self, source: ImageRef, target: ImageRef) -> FaceComparison:
        """source = selfie, target = ID front. CompareFaces only when the selfie holds one face."""
        detected = self._call(
            "DetectFaces", lambda: self.rekognition.detect_faces(Image=_s3_object(source), Attributes=DETECT_ATTRIBUTES)
        )
        details = detected.get("FaceDetails") or []
        source_faces = len(details)
        if source_faces != 1:
            return FaceComparison(similarity=None, source_face_count=source_faces, target_face_count=0)
        compared = self._call(
            "CompareFaces",
            lambda: self.rekognition.compare_faces(
                SourceImage=_s3_object(source), TargetImage=_s3_object(target), SimilarityThreshold=0
            ),
        )
        matches = compared.get("FaceMatches") or []
        unmatched = compared.get("UnmatchedFaces") or []
        best = max(matches, key=lambda m: float(m["Similarity"]), default=None)
        box = ((best or {}).get("Face") or {}).get("BoundingBox")
        return FaceComparison(
            similarity=float(best["Similarity"]) if best is not None else None,
            source_face_count=1,
            target_face_count=len(matches) + len(unmatched),
            quality=quality_of(details[0]),
            portrait=Portrait({k: float(v) for k, v in box.items()}) if box else None,
        )

    # -- the duplicate search (a collection per stage and tenant) ----------------------------

    def index_face(self, tenant: str, image: ImageRef, external_id: str) -> IndexedFace | None:
        """IndexFaces of the selfie's largest face into the tenant's collection (made on first use)."""
        collection = _collection(tenant)
        request = {
            "CollectionId": collection,
            "Image": _s3_object(image),
            "ExternalImageId": external_id,
            "MaxFaces": 1,
            "QualityFilter": "AUTO",
            "DetectionAttributes": [],
        }
        try:
            response = self._call("IndexFaces", lambda: self.rekognition.index_faces(**request))
        except self.rekognition.exceptions.ResourceNotFoundException:
            self._create_collection(collection)
            response = self._call("IndexFaces", lambda: self.rekognition.index_faces(**request))
        ids = tuple(str(r["Face"]["FaceId"]) for r in response.get("FaceRecords") or [])
        return IndexedFace(face_ids=ids, collection=collection) if ids else None

    def search_faces(
        self, tenant: str, image: ImageRef, threshold: float, stored: Callable[[], Iterable[StoredFace]]
    ) -> list[FaceHit]:
        """SearchFacesByImage in the tenant's collection only (`stored` is the self-hosted one's)."""
        try:
            response = self._call(
                "SearchFacesByImage",
                lambda: self.rekognition.search_faces_by_image(
                    CollectionId=_collection(tenant),
                    Image=_s3_object(image),
                    MaxFaces=SEARCH_MAX_FACES,
                    FaceMatchThreshold=threshold,
                    QualityFilter="NONE",
                ),
            )
        except self.rekognition.exceptions.ResourceNotFoundException:
            return []  # no collection yet: nobody of the tenant is indexed
        except UnusableInput:
            return []  # no face to search with: the face check says so already
        return [
            FaceHit(str(m["Face"].get("ExternalImageId") or ""), float(m["Similarity"]))
            for m in response.get("FaceMatches") or []
            if m.get("Face", {}).get("ExternalImageId")
        ]

    # -- Face Liveness ------------------------------------------------------------------------

    def create_liveness_session(self, output_prefix: str) -> str:
        """CreateFaceLivenessSession; the reference image goes to `output_prefix` of the stage bucket."""
        from chalicelib.config import settings

        settings_ = {
            "OutputConfig": {"S3Bucket": settings().bucket, "S3KeyPrefix": output_prefix},
            "AuditImagesLimit": 0,
        }
        response = self._call(
            "CreateFaceLivenessSession", lambda: self.rekognition.create_face_liveness_session(Settings=settings_)
        )
        return str(response["SessionId"])

    def liveness_result(self, session_id: str) -> dict[str, Any]:
        response = self._call(
            "GetFaceLivenessSessionResults",
            lambda: self.rekognition.get_face_liveness_session_results(SessionId=session_id),
        )
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}

    def _create_collection(self, collection: str) -> None:
        with contextlib.suppress(self.rekognition.exceptions.ResourceAlreadyExistsException):  # made meanwhile
            self._call("CreateCollection", lambda: self.rekognition.create_collection(CollectionId=collection))

    def analyze_id(
        self, front: ImageRef, back: ImageRef | None = None, claim: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Textract reads the document blind: `claim` is not sent anywhere."""
        pages = [_s3_object(front)] + ([_s3_object(back)] if back is not None else [])
        response = self._call("AnalyzeID", lambda: self.textract.analyze_id(DocumentPages=pages))
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}

    # -- error mapping (retries are botocore's) ------------------------------------------------

    def _call(self, operation: str, request: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = request()
        except (ClientError, BotoCoreError) as exc:
            code = _error_code(exc) or type(exc).__name__
            retries = _retry_attempts(exc)
            unusable = _unusable(operation, exc)
            if unusable is not None:
                logger().info(
                    "provider: unusable input", extra={"operation": operation, "error": code, "retries": retries}
                )
                raise unusable from exc
            if not _is_transient(exc):
                raise
            logger().warning(
                "provider: still failing after botocore's retries",
                extra={"operation": operation, "error": code, "retries": retries},
            )
            raise ProviderThrottled(f"{operation}: {code} after {retries} retries") from exc
        retries = _retry_attempts_of(response)
        if retries:
            logger().info("provider: answered after retries", extra={"operation": operation, "retries": retries})
        return response


def _collection(tenant: str) -> str:
    from chalicelib.config import settings
    from chalicelib.keys import face_collection

    return face_collection(settings().stage, tenant)


def quality_of(detail: dict[str, Any]) -> FaceQuality:
    """The quality gates' measurements from one DetectFaces FaceDetail."""
    box, pose, quality = detail.get("BoundingBox") or {}, detail.get("Pose") or {}, detail.get("Quality") or {}
    sunglasses = detail.get("Sunglasses") or {}

    def number(value: Any) -> float | None:
        return float(value) if value is not None else None

    return FaceQuality(
        source="aws",
        size=number(box.get("Height")),
        confidence=number(detail.get("Confidence")),
        yaw=number(pose.get("Yaw")),
        pitch=number(pose.get("Pitch")),
        sharpness=number(quality.get("Sharpness")),
        brightness=number(quality.get("Brightness")),
        sunglasses=bool(sunglasses["Value"]) if "Value" in sunglasses else None,
    )


def _retry_attempts_of(response: dict[str, Any]) -> int:
    return int((response.get("ResponseMetadata") or {}).get("RetryAttempts") or 0)


def _retry_attempts(exc: Exception) -> int:
    response = getattr(exc, "response", None)
    return _retry_attempts_of(response) if isinstance(response, dict) else 0
