"""The automatic KYC decision: face comparison + document reading -> status, reasons, checks.

- verified:     similarity >= verify threshold, exactly one face in the selfie, at least one
                on the ID, first name, last name, date of birth and document number match,
                the document is in date and its machine-readable data agrees with its print;
- rejected:     any clear problem: similarity below the review threshold, no face or several
                in the selfie, no face on the ID, a field that clearly differs (read clearly
                and plausibly), an expired document (its expiry read clearly);
- needs_review: otherwise, when something is uncertain: similarity in [review, verify), a
                near-miss field, a reading that is shaky (confidence below CLEAR_CONFIDENCE),
                cut short or implausible, names in another order, a field or the expiry date
                unreadable, a consistency problem (machine-readable data or the document's
                pages disagreeing, an MRZ failing its check digits), a comparison that gave no
                similarity.

Without a face comparison (`face=None`: `kyc_service decide` with no face responses) the
decision rests on the document alone and `checks` has no `face_match`.

Every date rule is judged against `today`, a parameter: the verifier passes the real date.

Reasons are plain sentences, one per problem, always in the same order: face, first name,
last name, date of birth, document number, expiry, consistency. The selfie's quality gates
(quality.py) follow the face's reasons; each failed gate asks for review with what to retake. A reason that only asks
for a human ends with "(review)". Reasons never quote the values compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from chalicelib.domain import dates
from chalicelib.domain.details import CLEAR_CONFIDENCE, details_check
from chalicelib.domain.problems import NEEDS_REVIEW, REJECTED, Problems
from chalicelib.domain.quality import quality_check
from chalicelib.providers.port import FaceComparison, IdReading, Portrait


@dataclass(frozen=True)
class Rules:
    """The thresholds a decision applies (the stage's settings; per tenant where it sets them).

    verify/review: face similarity (0-100) from which a selfie verifies / asks for review;
    clear_confidence: the reading confidence (0-100) from which a disagreement rejects."""

    verify_threshold: float = 95.0
    review_threshold: float = 80.0
    clear_confidence: float = CLEAR_CONFIDENCE

    def __post_init__(self) -> None:
        if self.review_threshold > self.verify_threshold:
            raise ValueError("review_threshold must not exceed verify_threshold")


@dataclass
class Decision:
    status: str  # "verified" | "rejected" | "needs_review"
    reasons: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    portrait: Portrait | None = None  # the face on the ID the selfie was compared with (kept for audit)


def date_convention_for(id_type: str | None) -> str:
    """Numeric dates on passports are read day-first; US licences and ID cards month-first."""
    return dates.DAY_FIRST if id_type == "Passport" else dates.US


def _similarity_text(similarity: float) -> str:
    """One decimal, rounded down, so 94.99 never reads as the 95.0 it missed."""
    return f"{math.floor(similarity * 10) / 10:.1f}"


# --- face ----------------------------------------------------------------------------------


def _face_check(
    face: FaceComparison, verify_threshold: float, review_threshold: float, problems: Problems
) -> dict[str, Any]:
    """The face comparison's check; its problems come first among the reasons."""
    sim = face.similarity
    if face.source_face_count == 0:
        problems.reject("the selfie shows no face; exactly one is required")
    elif face.source_face_count > 1:
        problems.reject(f"the selfie shows {face.source_face_count} faces; exactly one is required")
    elif face.target_face_count == 0:
        problems.reject("no face was found on the ID photo")
    elif sim is None:
        problems.review("the selfie could not be compared with the ID photo")
    elif sim < review_threshold:
        problems.reject(f"the selfie does not match the ID photo (similarity {_similarity_text(sim)})")
    elif sim < verify_threshold:
        problems.review(
            f"the selfie resembles the ID photo but not closely enough to verify (similarity {_similarity_text(sim)})"
        )
    passed = face.source_face_count == 1 and face.target_face_count >= 1 and sim is not None and sim >= verify_threshold
    return {
        "passed": passed,
        "similarity": sim,
        "source_face_count": face.source_face_count,
        "target_face_count": face.target_face_count,
    }


# --- the decision --------------------------------------------------------------------------


def decide(
    submitted: dict[str, Any],
    face: FaceComparison | None,
    reading: IdReading,
    verify_threshold: float,
    review_threshold: float,
    today: date,
    *,
    date_convention: str | None = None,
    clear_confidence: float = CLEAR_CONFIDENCE,
) -> Decision:
    """Decide a submission, judging dates against `today`.

    face: None when there is no face comparison (the decision then rests on the document).
    date_convention: "US" or "day-first"; by default from id_type.
    clear_confidence: the confidence (0-100) from which a reading is clear enough to reject on.
    """
    if review_threshold > verify_threshold:
        raise ValueError("review_threshold must not exceed verify_threshold")
    convention = date_convention or date_convention_for(submitted.get("id_type"))
    problems = Problems()
    checks: dict[str, Any] = {}
    if face is not None:
        checks["face_match"] = _face_check(face, verify_threshold, review_threshold, problems)
        if face.quality is not None and face.source_face_count == 1:
            checks["quality"], retake = quality_check(face.quality)  # the selfie's gates (quality.py)
            for reason in retake:
                problems.review(reason)
    checks["details_match"] = details_check(submitted, reading, convention, today, clear_confidence, problems)
    return Decision(status=problems.status(), reasons=problems.reasons(), checks=checks)


def decide_unusable(reason: str, review: bool) -> Decision:
    """The decision when the provider could not use an image or document (UnusableInput)."""
    return Decision(status=NEEDS_REVIEW if review else REJECTED, reasons=[reason], checks={})
