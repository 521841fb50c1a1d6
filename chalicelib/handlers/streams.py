"""DynamoDB stream records as the handlers read them: the old and new images as models, and
whether a write carried a new decision."""

from __future__ import annotations

from typing import Any, TypeVar

M = TypeVar("M")


def images(record: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(OldImage, NewImage) of a Lambda stream record, in DynamoDB JSON."""
    ddb = record.get("dynamodb") or {}
    return ddb.get("OldImage"), ddb.get("NewImage")


def as_model(model_cls: type[M], image: dict[str, Any] | None) -> M | None:
    """An image as a model instance (PynamoDB's from_raw_data), None for no image."""
    return None if not image else model_cls.from_raw_data(image)  # type: ignore[attr-defined]


def decision_changed(old: Any, new: Any) -> bool:
    """True when the new image (a KYC record) carries a decision the old image did not: verify is
    false and its decision_id is new."""
    if new is None or new.verify or not new.decision_id:
        return False
    return bool(new.decision_id != (old.decision_id if old is not None else None))
