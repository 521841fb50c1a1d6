"""The events table's own items: the audit trail of status changes, and the licence override a
bundle carried (the notifier's idempotency markers there are Powertools')."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.keys import audit_pk, audit_tombstone_pk, erasure_ref, licence_override_key
from chalicelib.storage.models import KycRecordBase, condition_failed, plain, tables

AUDIT_RETENTION_S = 400 * 24 * 3600  # audit entries kept for 400 days (TTL)


def record_audit(old: KycRecordBase | None, new: KycRecordBase | None, decided: bool) -> None:
    """One entry per status change or new decision (who, when, from, to, reason); replays
    write nothing new."""
    before = old.validation_status if old is not None else None
    if new is None or (new.validation_status == before and not decided):
        return
    when = int(new.decided_time or new.last_updated_time or time.time())
    who = new.decided_by if new.validation_status != "pending" else f"submission:{new.source}"
    entry = tables().events(
        audit_pk(new.tenant, new.email),
        f"{when:010d}#{new.sk}#v{new.version}",
        kind="audit",
        created_time=int(time.time()),
        expires_at=int(time.time()) + AUDIT_RETENTION_S,
        data={
            "record": new.sk,
            "from": before,
            "to": new.validation_status,
            "who": who,
            "when": when,
            "reasons": list(new.reasons or []),
            "submission_id": new.submission_id,
        },
    )
    try:
        entry.save(condition=tables().events.pk.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise


def list_audit(tenant: str, email: str) -> list[dict[str, Any]]:
    """An operator's view of a customer's status changes, oldest first."""
    return [dict(e.data.as_dict(), sk=e.sk) for e in tables().events.query(audit_pk(tenant, email))]


MAX_TRAIL = 1000  # the newest entries a trail shows (a customer's whole history, bar the pathological)


def _iso(seconds: Any) -> str | None:
    if seconds is None:
        return None
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def trail(tenant: str, email: str, limit: int = MAX_TRAIL) -> list[dict[str, Any]]:
    """A customer's audit trail as the events route returns it, oldest first (of the newest
    `limit`): occurred_at (ISO 8601 UTC), id_type, from, to, decided_by, reasons."""
    newest = tables().events.query(audit_pk(tenant, email), scan_index_forward=False, limit=limit)
    events = []
    for entry in newest:
        data = plain(entry.data)
        record = data.get("record")
        events.append(
            {
                "occurred_at": _iso(data.get("when", entry.created_time)),
                "id_type": str(record).split("#", 1)[0] if record else None,
                "from": data.get("from"),
                "to": data.get("to"),
                "decided_by": data.get("who"),
                "reasons": list(data.get("reasons") or []),
            }
        )
    events.reverse()
    return events


def list_audit_tombstones(tenant: str, email: str) -> list[dict[str, Any]]:
    """What is left of an erased customer's audit trail (storage/erasure.py): PII-free entries
    under the erasure's reference, oldest first, the erasure itself last."""
    return [
        dict(e.data.as_dict(), sk=e.sk)
        for e in tables().events.query(audit_tombstone_pk(tenant, erasure_ref(tenant, email)))
    ]


# -- the licence override of a bundle --------------------------------------------------


def remember_override(tenant: str, app_uuid: str, override: bool | None) -> None:
    """The bundle's VALIDATION_OVERRIDE column, kept for the verifier (events table)."""
    pk, sk = licence_override_key(tenant, app_uuid)
    value = "none" if override is None else str(override).lower()
    tables().events(pk, sk, kind="licence_override", data={"value": value}, created_time=int(time.time())).save()


def recall_override(tenant: str, app_uuid: str | None) -> bool | None:
    if not app_uuid:
        return None
    try:
        item = tables().events.get(*licence_override_key(tenant, app_uuid), consistent_read=True)
    except DoesNotExist:
        return None
    return {"true": True, "false": False}.get(str(plain(item.data).get("value")))
