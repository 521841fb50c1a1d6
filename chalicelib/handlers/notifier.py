"""Notifier stream handler: exactly one SNS message per decision.

Delivery is at least once, so each publish runs under Powertools' idempotency
utility, keyed by the record and its decision id, stored in the events table.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chalicelib.handlers.batch import process_batch
from chalicelib.handlers.streams import as_model, decision_changed, images
from chalicelib.keys import NOTIFY_IDEMPOTENCY_PK
from chalicelib.logs import logger, ref
from chalicelib.storage.models import tables
from chalicelib.storage.publishing import publish_once
from chalicelib.storage.tombstones import erased_after

IDEMPOTENCY_TTL_S = 7 * 24 * 3600


def message(record: Any) -> dict[str, Any]:
    """The contract's message for a KYC record's decision (CONTRACT.md §2)."""
    decided = int(record.decided_time or 0)
    return {
        "event": "kyc.status_changed",
        "tenant": record.tenant,
        "email": record.email,
        "id_type": record.id_type,
        "validation_status": record.validation_status,
        "reasons": list(record.reasons or []),
        "decided_by": record.decided_by,
        "occurred_at": dt.datetime.fromtimestamp(decided, dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def handle_record(raw: dict[str, Any], context: Any = None) -> None:
    old_image, new_image = images(raw)
    kyc = tables().kyc
    old, new = as_model(kyc, old_image), as_model(kyc, new_image)
    if new is None or not decision_changed(old, new):
        return
    if erased_after(new.tenant, new.email, new.created_time):  # a late record of an erased customer
        logger().info("decision of an erased customer not published", extra={"record": ref(new.pk, new.sk)})
        return
    record = f"{new.pk}|{new.sk}"  # with the decision id, the idempotency key
    message_id = publish_once(
        {"record": record, "decision_id": new.decision_id, "message": message(new)},
        static_pk=NOTIFY_IDEMPOTENCY_PK,
        key="[record, decision_id]",
        ttl_s=IDEMPOTENCY_TTL_S,
        attributes=("tenant", "validation_status"),
        context=context,
    )
    logger().info("notification published", extra={"record": ref(record), "message_id": message_id})


def handle_batch(event: Any) -> dict[str, Any]:
    context = getattr(event, "context", None)
    return process_batch(event, lambda raw: handle_record(raw, context), name="notifier")
