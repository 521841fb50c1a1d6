"""Identity stream handler: a customer's identity record follows each new decision,
and every status change of a KYC record gets an audit entry; neither is written for a record of a
customer erased since (storage/tombstones.py)."""

from __future__ import annotations

import time
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.handlers.batch import process_batch
from chalicelib.handlers.streams import as_model, decision_changed, images
from chalicelib.logs import logger, ref
from chalicelib.storage.events import record_audit
from chalicelib.storage.models import KycRecordBase, condition_failed, tables
from chalicelib.storage.tombstones import erased_after


def update_identity(new: KycRecordBase) -> None:
    identity = tables().identity
    now = int(time.time())
    item = identity(new.pk, tenant=new.tenant, email=new.email)
    try:
        item.update(
            actions=[
                identity.tenant.set(new.tenant),
                identity.email.set(new.email),
                identity.validation_status.set(new.validation_status),
                identity.id_type.set(new.id_type),
                identity.record_key.set(new.sk),
                identity.decision_id.set(new.decision_id),
                identity.decided_time.set(int(new.decided_time)),
                identity.reasons.set(list(new.reasons or [])),
                identity.decided_by.set(new.decided_by),
                identity.last_updated_time.set(now),
            ],
            condition=identity.pk.does_not_exist() | (identity.decided_time <= int(new.decided_time)),
        )
    except UpdateError as exc:
        if condition_failed(exc):
            logger().info("older decision not applied to identity", extra={"record": ref(new.pk, new.sk)})
            return
        raise
    logger().info("identity updated", extra={"record": ref(new.pk, new.sk), "status": new.validation_status})


def handle_record(raw: dict[str, Any]) -> None:
    old_image, new_image = images(raw)
    kyc = tables().kyc
    old, new = as_model(kyc, old_image), as_model(kyc, new_image)
    if new is None:
        return
    decided = decision_changed(old, new)
    if not decided and new.validation_status == (old.validation_status if old is not None else None):
        return  # nothing to write
    if erased_after(new.tenant, new.email, new.created_time):
        # a stream record delivered after the customer's erasure brings nothing back
        logger().info("stream record of an erased customer ignored", extra={"record": ref(new.pk, new.sk)})
        return
    record_audit(old, new, decided)
    if decided:
        update_identity(new)


def handle_batch(records: Any) -> dict[str, Any]:
    return process_batch(records, handle_record, name="identity")
