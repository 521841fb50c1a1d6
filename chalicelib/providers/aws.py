"""The AWS adapter of the provider port: Rekognition for faces, Textract AnalyzeID for IDs.

Images are passed to the services as S3 object references; nothing is downloaded
into the Lambda. Clients come from `chalicelib.aws.client` on first use (or are
injected, for tests). Transient service errors are retried with exponential
backoff and full jitter, then raised as `ProviderThrottled`; errors that mean the
image or document itself cannot be used become `UnusableInput`.

Log lines name the operation and the error code only: never a key, a name or a number.
"""
from __future__ import annotations

import logging
import random
import time
from typing import Any, Callable

from chalicelib.providers import FaceComparison, ImageRef, ProviderThrottled, UnusableInput

log = logging.getLogger(__name__)

TRANSIENT_CODES = frozenset({
    "ThrottlingException", "Throttling", "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "ServiceUnavailable", "ServiceUnavailableException",
    "InternalServerError", "InternalServerErrorException", "InternalFailure",
    "LimitExceeded", "LimitExceededException",
})

# error code -> (plain reason, needs a human rather than a resubmission)
_UNUSABLE: dict[str, tuple[str, bool]] = {
    "InvalidImageFormatException": ("the image is not in a supported format (JPEG or PNG)", False),
    "ImageTooLargeException": ("the image is too large to be processed", False),
    "InvalidS3ObjectException": ("the uploaded image could not be read from storage", True),
    "UnsupportedDocumentException": ("the document is not in a supported format", False),
    "BadDocumentException": ("the document image could not be read", False),
    "DocumentTooLargeException": ("the document image is too large to be processed", False),
}
_INVALID_PARAMETER = {
    "CompareFaces": "no usable face was found in the selfie or the ID photo",
    "DetectFaces": "the selfie could not be processed",
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

    def __init__(self, rekognition: Any = None, textract: Any = None, *,
                 max_attempts: int = 3, base_delay: float = 0.25, max_delay: float = 4.0,
                 sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random):
        self._rekognition = rekognition
        self._textract = textract
        self.max_attempts = max(1, max_attempts)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._sleep = sleep
        self._jitter = jitter

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
        detected = self._call("DetectFaces", lambda: self.rekognition.detect_faces(
            Image=_s3_object(source), Attributes=["DEFAULT"]))
        source_faces = len(detected.get("FaceDetails") or [])
        if source_faces != 1:
            return FaceComparison(similarity=None, source_face_count=source_faces, target_face_count=0)
        compared = self._call("CompareFaces", lambda: self.rekognition.compare_faces(
            SourceImage=_s3_object(source), TargetImage=_s3_object(target), SimilarityThreshold=0))
        matches = compared.get("FaceMatches") or []
        unmatched = compared.get("UnmatchedFaces") or []
        similarity = max((float(m["Similarity"]) for m in matches), default=None)
        return FaceComparison(similarity=similarity, source_face_count=1,
                              target_face_count=len(matches) + len(unmatched))

    def analyze_id(self, front: ImageRef, back: ImageRef | None = None,
                   claim: dict[str, Any] | None = None) -> dict[str, Any]:
        """Textract reads the document blind: `claim` is not sent anywhere."""
        pages = [_s3_object(front)] + ([_s3_object(back)] if back is not None else [])
        response = self._call("AnalyzeID", lambda: self.textract.analyze_id(DocumentPages=pages))
        return {k: v for k, v in response.items() if k != "ResponseMetadata"}

    # -- retries and error mapping ------------------------------------------------------------

    def _delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2^attempt)]."""
        return self._jitter() * min(self.max_delay, self.base_delay * (2 ** attempt))

    def _call(self, operation: str, request: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        for attempt in range(self.max_attempts):
            try:
                return request()
            except (ClientError, BotoCoreError) as exc:
                unusable = _unusable(operation, exc)
                if unusable is not None:
                    log.info("provider %s: unusable input (%s)", operation, _error_code(exc))
                    raise unusable from exc
                if not _is_transient(exc):
                    raise
                code = _error_code(exc) or type(exc).__name__
                if attempt + 1 >= self.max_attempts:
                    log.warning("provider %s: %s after %d attempts", operation, code, attempt + 1)
                    raise ProviderThrottled(f"{operation}: {code} after {attempt + 1} attempts") from exc
                delay = self._delay(attempt)
                log.info("provider %s: %s, retrying in %.2fs", operation, code, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover
