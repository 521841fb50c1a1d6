"""What a customer submits and what an admin decides by hand, once validated (http/validation.py
and the bundle intake build them; the record store saves them), and the documents it may link."""

from __future__ import annotations

from dataclasses import dataclass

LINK_KINDS = ("id_front", "id_back", "selfie")  # the documents a submission links
LIVENESS_KIND = "liveness"  # a Face Liveness session in place of the selfie: {"kind", "session_id"}
ALLOWED_CONTENT_TYPES = {"image/jpeg": ".jpg", "image/png": ".png"}  # what a linked document may be


@dataclass(frozen=True)
class Submission:
    """A validated create_or_update body (keys already normalised)."""

    details: dict[str, str | None]
    document_links: list[dict[str, str | None]]

    @property
    def email(self) -> str:
        return str(self.details["email"])  # required: validation never leaves it None

    @property
    def id_type(self) -> str:
        return str(self.details["id_type"])

    @property
    def id_value(self) -> str:
        return str(self.details["id_value"])


@dataclass(frozen=True)
class ManualDecision:
    id_type: str
    id_value: str
    status: str
    reason: str
    final: bool = True  # a final rejection blocks the customer until an admin decides again

    @property
    def blocks(self) -> bool:
        """A final rejection: the customer's later submissions are refused (409 decision_final)."""
        return self.final and self.status == "rejected"
