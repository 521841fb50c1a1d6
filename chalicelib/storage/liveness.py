"""Failed liveness checks, counted for the liveness route's throttle: AWS recommends pausing a
user after 5 failed attempts within 3 minutes (Face Liveness guidance). One item per failure in
the events table, partition `liveness#{tenant}#{owner}` (the e-mail hashed), expiring after the
window (DynamoDB TTL; the count reads only the window, whatever TTL has not yet removed)."""

from __future__ import annotations

import time
import uuid

from chalicelib.keys import liveness_failures_pk
from chalicelib.storage.models import tables

WINDOW_S = 180
MAX_FAILURES = 5


def record_failure(tenant: str, email: str, session_id: str) -> None:
    now = int(time.time())
    tables().events(
        liveness_failures_pk(tenant, email),
        uuid.uuid5(uuid.NAMESPACE_URL, session_id).hex,  # one failure per session: a replay writes it again
        kind="liveness_failure",
        created_time=now,
        expires_at=now + WINDOW_S,
    ).save()


def recent_failures(tenant: str, email: str, now: float | None = None) -> int:
    since = int(now if now is not None else time.time()) - WINDOW_S
    events = tables().events
    items = events.query(liveness_failures_pk(tenant, email), consistent_read=True)
    return sum(1 for item in items if int(item.created_time) >= since)


def throttled(tenant: str, email: str) -> bool:
    return recent_failures(tenant, email) >= MAX_FAILURES
