"""The S3 handler of bundle drops: one object-created event taken in (chalicelib/bundles)."""

from __future__ import annotations

from typing import Any

from chalicelib.bundles.intake import Intake


def handle_event(event: Any) -> dict[str, Any]:
    """One object-created event (Chalice S3Event or anything with bucket and key)."""
    from chalicelib.aws import client
    from chalicelib.config import settings
    from chalicelib.services import store

    key = event.key
    if not key.endswith(".zip"):
        return {"status": "ignored"}
    return Intake(s3=client("s3"), store=store(), settings=settings(), bucket=event.bucket).run(key)
