"""Fraud signals judged without I/O (issue 16; docs/verification.md): the selfie's quality gates,
the duplicate check's outcome, and liveness. Each adds a check to the decision and, when it fails,
asks for review with a reason the customer can act on (never one that names another customer).

Quality gates, per provider (what each can measure):
- AWS (DetectFaces): face confidence >= 90, face height >= 8 % of the image, |yaw| and |pitch|
  <= 30 degrees, no sunglasses. Exactly one face is the face check's rule (decision.py).
- self-hosted (dlib 5-point landmarks): face height >= 8 % of the image, sharpness (variance of
  the Laplacian of the 128 px face crop) >= 40, rough |yaw| <= 30 degrees.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.problems import NEEDS_REVIEW, REJECTED, VERIFIED
from chalicelib.providers.port import FaceQuality

MIN_CONFIDENCE = 90.0
MIN_SIZE = 0.08
MAX_YAW = 30.0
MAX_PITCH = 30.0
MIN_SHARPNESS = 40.0  # self-hosted only: AWS's Sharpness is another scale, and not gated

RETAKE = {
    "confidence": "the face in the selfie is not clear enough; retake it facing the camera in good light",
    "size": "the face in the selfie is too small; retake it closer to the camera",
    "yaw": "the head in the selfie is turned; retake it looking straight at the camera",
    "pitch": "the head in the selfie is tilted up or down; retake it looking straight at the camera",
    "sharpness": "the selfie is blurred; retake it holding the camera still",
    "sunglasses": "the selfie shows sunglasses; retake it without them",
}
DUPLICATE_REASON = "this identity may already be registered with another account of this service"
LIVENESS_UNAVAILABLE = "a liveness check is required but this service cannot perform one; a person will review"
LIVENESS_MISSING = "a liveness check is required: complete the liveness check instead of uploading a selfie"
LIVENESS_FAILED = "the liveness check did not confirm a live person; try the liveness check again"


def quality_gates(q: FaceQuality) -> dict[str, dict[str, Any]]:
    """Each gate the provider could measure: {"value", "limit", "passed"}."""
    gates: dict[str, dict[str, Any]] = {}

    def gate(name: str, value: float | bool | None, limit: float | bool, passed: bool) -> None:
        if value is not None:
            gates[name] = {"value": value, "limit": limit, "passed": passed}

    if q.confidence is not None:
        gate("confidence", q.confidence, MIN_CONFIDENCE, q.confidence >= MIN_CONFIDENCE)
    if q.size is not None:
        gate("size", round(q.size, 4), MIN_SIZE, q.size >= MIN_SIZE)
    if q.yaw is not None:
        gate("yaw", q.yaw, MAX_YAW, abs(q.yaw) <= MAX_YAW)
    if q.pitch is not None:
        gate("pitch", q.pitch, MAX_PITCH, abs(q.pitch) <= MAX_PITCH)
    if q.sharpness is not None and q.source != "aws":
        gate("sharpness", q.sharpness, MIN_SHARPNESS, q.sharpness >= MIN_SHARPNESS)
    if q.sunglasses is not None:
        gate("sunglasses", q.sunglasses, False, not q.sunglasses)
    return gates


def quality_check(q: FaceQuality) -> tuple[dict[str, Any], list[str]]:
    """The `quality` check and the retake reasons of the gates that failed (each asks for review)."""
    gates = quality_gates(q)
    failed = [name for name, g in gates.items() if not g["passed"]]
    return {"passed": not failed, "source": q.source, "gates": gates}, [RETAKE[name] for name in failed]


def at_least_review(status: str) -> str:
    """A signal that asks for review: verified becomes needs_review; rejected stays rejected."""
    return NEEDS_REVIEW if status == VERIFIED else status


def combine(status: str, review: bool) -> str:
    return at_least_review(status) if review and status != REJECTED else status
