"""Identity stream handler: a customer's identity record follows each new decision,
and every status change of a KYC record gets an audit entry."""
from __future__ import annotations

import time
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.handlers.streams import as_model, decision_changed, images, process_batch
from chalicelib.keys import audit_pk
from chalicelib.logs import logger, ref
from chalicelib.storage.models import condition_failed, tables

AUDIT_RETENTION_S = 400 * 24 * 3600  # audit entries kept for 400 days (TTL)


def record_audit(old, new, decided: bool) -> None:
    """One entry per status change or new decision (who, when, from, to, reason); replays
    write nothing new."""
    before = old.validation_status if old is not None else None
    if new is None or new.validation_status == before and not decided:
        return
    when = int(new.decided_time or new.last_updated_time or time.time())
    who = new.decided_by if new.validation_status != "pending" else f"submission:{new.source}"
    entry = tables().events(
        audit_pk(new.tenant, new.email), f"{when:010d}#{new.sk}#v{new.version}",
        kind="audit", created_time=int(time.time()), expires_at=int(time.time()) + AUDIT_RETENTION_S,
        data={"record": new.sk, "from": before, "to": new.validation_status, "who": who, "when": when,
              "reasons": list(new.reasons or []), "submission_id": new.submission_id})
    try:
        entry.save(condition=tables().events.pk.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise


def update_identity(new) -> None:
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
    decided = decision_changed(old_image, new_image)
    record_audit(old, new, decided)
    if decided:
        update_identity(new)


def handle_batch(records) -> dict[str, Any]:
    return process_batch(records, handle_record, name="identity")


def list_audit(tenant: str, email: str) -> list[dict[str, Any]]:
    """An operator's view of a customer's status changes, oldest first."""
    return [dict(e.data.as_dict(), sk=e.sk) for e in tables().events.query(audit_pk(tenant, email))]
