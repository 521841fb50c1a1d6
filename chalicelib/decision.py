"""The automatic KYC decision: face comparison + document reading -> status, reasons, checks.

- verified:     similarity >= verify threshold, exactly one face in the selfie, at least one
                on the ID, first name, last name, date of birth and document number match,
                the document is in date and its machine-readable data agrees with its print;
- rejected:     any clear problem: similarity below the review threshold, no face or several
                in the selfie, no face on the ID, a field that clearly differs, an expired document;
- needs_review: otherwise, when something is uncertain: similarity in [review, verify), a
                near-miss field, a field or the expiry date unreadable, a consistency mismatch
                (possible tampering), a comparison that gave no similarity.

Reasons are plain sentences, one per problem, always in the same order: face, first name,
last name, date of birth, document number, expiry, consistency. A reason that only asks
for a human ends with "(review)". Reasons never quote the values compared.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from chalicelib import matching
from chalicelib.matching import MISMATCH, MISSING, NEAR_MISS, FieldMatch
from chalicelib.providers import FaceComparison, IdField, IdReading

VERIFIED, REJECTED, NEEDS_REVIEW = "verified", "rejected", "needs_review"
REQUIRED_FIELDS = ("FIRST_NAME", "LAST_NAME", "DATE_OF_BIRTH", "DOCUMENT_NUMBER")
FIELD_WORDS = {
    "FIRST_NAME": "first name", "LAST_NAME": "last name", "MIDDLE_NAME": "middle name",
    "DATE_OF_BIRTH": "date of birth", "DOCUMENT_NUMBER": "document number",
    "EXPIRATION_DATE": "expiry date", "DATE_OF_ISSUE": "issue date", "ADDRESS": "address",
}


@dataclass
class Decision:
    status: str  # "verified" | "rejected" | "needs_review"
    reasons: list[str] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Problems:
    """Reasons collected in order, each marked as rejecting or only asking for review."""
    items: list[tuple[str, bool]] = field(default_factory=list)

    def reject(self, reason: str) -> None:
        self.items.append((reason, True))

    def review(self, reason: str) -> None:
        self.items.append((f"{reason} (review)", False))

    def status(self) -> str:
        if any(rejects for _, rejects in self.items):
            return REJECTED
        return NEEDS_REVIEW if self.items else VERIFIED

    def reasons(self) -> list[str]:
        return [reason for reason, _ in self.items]


def date_convention_for(id_type: str | None) -> str:
    """Numeric dates on passports are read day-first; US licences and ID cards month-first."""
    return matching.DAY_FIRST if id_type == "Passport" else matching.US


def _similarity_text(similarity: float) -> str:
    """One decimal, rounded down, so 94.99 never reads as the 95.0 it missed."""
    return f"{math.floor(similarity * 10) / 10:.1f}"


def _field_words(name: str) -> str:
    return FIELD_WORDS.get(name, name.replace("_", " ").lower())


# --- face ----------------------------------------------------------------------------------

def _face_check(face: FaceComparison, verify_threshold: float, review_threshold: float,
                problems: _Problems) -> dict[str, Any]:
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
        problems.review(f"the selfie resembles the ID photo but not closely enough to verify "
                        f"(similarity {_similarity_text(sim)})")
    passed = (face.source_face_count == 1 and face.target_face_count >= 1
              and sim is not None and sim >= verify_threshold)
    return {"passed": passed, "similarity": sim, "source_face_count": face.source_face_count,
            "target_face_count": face.target_face_count}


# --- fields --------------------------------------------------------------------------------

def _value(reading: IdReading, name: str) -> str | None:
    item = reading.fields.get(name)
    return item.value if item else None


def _date_readings(item: IdField | None, convention: str, kind: str, today: date) -> list[date]:
    if item is None:
        return []
    return matching.field_date_readings(item.value, item.normalized, convention=convention,
                                        kind=kind, today=today)


def _field_problem(name: str, result: FieldMatch, problems: _Problems) -> None:
    words = _field_words(name)
    if result.outcome == MISMATCH:
        problems.reject(f"{words} differs from the document")
    elif result.outcome == NEAR_MISS and name == "DATE_OF_BIRTH":
        problems.review(f"{words} matches the document only with day and month read the other way")
    elif result.outcome == NEAR_MISS:
        problems.review(f"{words} is close to but not the same as the document's")
    elif result.outcome == MISSING:
        problems.review(f"{words} could not be read from the document")


def _match_fields(submitted: dict[str, Any], reading: IdReading, convention: str,
                  today: date) -> dict[str, tuple[Any, Any, FieldMatch]]:
    """name -> (submitted value, document value, result), in REQUIRED_FIELDS order."""
    dob = reading.fields.get("DATE_OF_BIRTH")
    dob_readings = _date_readings(dob, convention, "birth", today)
    return {
        "FIRST_NAME": (submitted.get("first_name"), _value(reading, "FIRST_NAME"),
                       matching.match_first_name(submitted.get("first_name"),
                                                 submitted.get("middle_name"),
                                                 _value(reading, "FIRST_NAME"),
                                                 _value(reading, "MIDDLE_NAME"))),
        "LAST_NAME": (submitted.get("last_name"), _value(reading, "LAST_NAME"),
                      matching.match_name(submitted.get("last_name"), _value(reading, "LAST_NAME"))),
        "DATE_OF_BIRTH": (submitted.get("date_of_birth"),
                          dob_readings[0].isoformat() if dob_readings else _value(reading, "DATE_OF_BIRTH"),
                          matching.match_date(submitted.get("date_of_birth"), dob_readings)),
        "DOCUMENT_NUMBER": (submitted.get("id_value"), _value(reading, "DOCUMENT_NUMBER"),
                            matching.match_id_number(submitted.get("id_value"),
                                                     _value(reading, "DOCUMENT_NUMBER"))),
    }


def _expiry_check(reading: IdReading, convention: str, today: date,
                  problems: _Problems) -> dict[str, Any]:
    item = reading.fields.get("EXPIRATION_DATE")
    readings = _date_readings(item, convention, "expiry", today)
    if not readings:
        problems.review("the document's expiry date could not be read")
        return {"document": item.value if item else None, "passed": False, "outcome": MISSING}
    expiry = readings[0]
    if matching.is_expired(expiry, today):
        problems.reject(f"the document expired on {expiry.isoformat()}")
        return {"document": expiry.isoformat(), "passed": False, "outcome": "expired"}
    return {"document": expiry.isoformat(), "passed": True, "outcome": "in_date"}


def _consistency_check(reading: IdReading, problems: _Problems) -> dict[str, Any] | None:
    mismatched = list(reading.mismatched_fields)
    if not mismatched:
        return None
    words = ", ".join(_field_words(name) for name in mismatched)
    problems.review(f"the document's machine-readable data disagrees with its printed {words}; "
                    f"possible tampering")
    return {"passed": False, "mismatched_fields": mismatched}


def _details_check(submitted: dict[str, Any], reading: IdReading, convention: str, today: date,
                   problems: _Problems) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, (sub_value, doc_value, result) in _match_fields(submitted, reading, convention,
                                                               today).items():
        _field_problem(name, result, problems)
        fields[name] = {"submitted": sub_value, "document": doc_value,
                        "passed": result.passed, "outcome": result.outcome}
    fields["EXPIRATION_DATE"] = _expiry_check(reading, convention, today, problems)
    consistency = _consistency_check(reading, problems)
    check: dict[str, Any] = {
        "passed": all(f["passed"] for f in fields.values()) and consistency is None,
        "fields": fields,
    }
    if consistency is not None:
        check["consistency"] = consistency
    return check


# --- the decision --------------------------------------------------------------------------

def decide(submitted: dict[str, Any], face: FaceComparison, reading: IdReading,
           verify_threshold: float, review_threshold: float, today: date,
           *, date_convention: str | None = None) -> Decision:
    """Decide a submission. date_convention: "US" or "day-first"; by default from id_type."""
    if review_threshold > verify_threshold:
        raise ValueError("review_threshold must not exceed verify_threshold")
    convention = date_convention or date_convention_for(submitted.get("id_type"))
    problems = _Problems()
    checks = {
        "face_match": _face_check(face, verify_threshold, review_threshold, problems),
        "details_match": _details_check(submitted, reading, convention, today, problems),
    }
    return Decision(status=problems.status(), reasons=problems.reasons(), checks=checks)


def decide_unusable(reason: str, review: bool) -> Decision:
    """The decision when the provider could not use an image or document (UnusableInput)."""
    return Decision(status=NEEDS_REVIEW if review else REJECTED, reasons=[reason], checks={})
