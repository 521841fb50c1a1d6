"""What a customer submits and what an admin decides by hand, once validated (http/validation.py
and the bundle intake build them; the record store saves them)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Submission:
    """A validated create_or_update body (keys already normalised)."""
    details: dict[str, str | None]
    document_links: list[dict[str, str | None]]

    @property
    def email(self) -> str:
        return self.details["email"]  # type: ignore[return-value]


@dataclass(frozen=True)
class ManualDecision:
    id_type: str
    id_value: str
    status: str
    reason: str
