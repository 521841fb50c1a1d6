"""The reasons a decision collects: each one rejects or only asks for a person (review).

Reasons are plain sentences, in the order they were found; a reason that only asks for a
person ends with "(review)". They never quote the values compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VERIFIED, REJECTED, NEEDS_REVIEW = "verified", "rejected", "needs_review"
FIELD_WORDS = {
    "FIRST_NAME": "first name",
    "LAST_NAME": "last name",
    "MIDDLE_NAME": "middle name",
    "DATE_OF_BIRTH": "date of birth",
    "DOCUMENT_NUMBER": "document number",
    "EXPIRATION_DATE": "expiry date",
    "DATE_OF_ISSUE": "issue date",
    "ADDRESS": "address",
}


def field_words(name: str) -> str:
    """A document field in plain words ("DATE_OF_BIRTH" -> "date of birth")."""
    return FIELD_WORDS.get(name, name.replace("_", " ").lower())


@dataclass
class Problems:
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
