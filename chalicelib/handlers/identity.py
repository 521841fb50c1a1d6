"""Identity stream handler: a customer's identity record follows each new decision,
and every status change of a KYC record gets an audit entry."""
from __future__ import annotations

import time
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.handlers.batch import process_batch
from chalicelib.handlers.streams import as_model, decision_changed, images
from chalicelib.logs import logger, ref
from chalicelib.storage.events import record_audit
from chalicelib.storage.models import KycRecordBase, condition_failed, tables


def update_identity(new: KycRecordBase) -> None:
    identity = tables().identity
    now = int(time.time())
    item = identity(new.pk, tenant=new.tenant, email=new.email)
    try:
        item.update(
            actions=[identity.tenant.set(new.tenant), identity.email.set(new.email),
                     identity.validation_status.set(new.validation_status), identity.id_type.set(new.id_type),
                     identity.record_key.set(new.sk), identity.decision_id.set(new.decision_id),
                     identity.decided_time.set(int(new.decided_time)), identity.reasons.set(list(new.reasons or [])),
                     identity.decided_by.set(new.decided_by), identity.last_updated_time.set(now)],
            condition=identity.pk.does_not_exist() | (identity.decided_time <= int(new.decided_time)))
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
    decided = decision_changed(old, new)
    record_audit(old, new, decided)
    if decided and new is not None:
        update_identity(new)


def handle_batch(records: Any) -> dict[str, Any]:
    return process_batch(records, handle_record, name="identity")
