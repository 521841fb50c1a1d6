"""Erasure tombstones: the PII-free mark a customer's erasure leaves in the events table, written
before anything is deleted.

`erasure#{tenant}#{ref}` / `tombstone`, where ref = keys.erasure_ref(tenant, email) (a hash: the
e-mail is not in it). It holds the erasure's id and start time, its status (`in_progress`, then
`complete`), what was erased so far (`records`, `documents`, ...) and a lease that keeps two runs
of the same erasure apart. Whoever retries an erasure reads it; the identity, audit and
notification handlers read it before writing, so a stream record delivered late (up to 24 h)
brings nothing back: a record created at or before `erased_at` belongs to the erased customer, a
newer one to a new customer. Kept as long as the audit trail (storage/events.py).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.keys import erasure_key, erasure_ref

IN_PROGRESS, COMPLETE = "in_progress", "complete"
LEASE_S = 90  # a run holds the erasure this long at most (longer than the API's 30 s timeout)
RETENTION_S = 400 * 24 * 3600  # as long as the audit entries (storage/events.AUDIT_RETENTION_S)
COUNT_FIELDS = ("records", "documents")


class ErasureBusy(Exception):
    """Another run of the same erasure holds its lease."""


@dataclass
class Tombstone:
    tenant: str
    ref: str
    erasure_id: str
    erased_at: int
    status: str
    by: str
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Tombstone:
        counts = {name[len("count_") :]: int(value["N"]) for name, value in item.items() if name.startswith("count_")}
        return cls(
            tenant=item["tenant"]["S"],
            ref=item["ref"]["S"],
            erasure_id=item["erasure_id"]["S"],
            erased_at=int(item["erased_at"]["N"]),
            status=item["status"]["S"],
            by=item["by"]["S"],
            counts=counts,
        )


def _table() -> str:
    return settings().events_table_name


def _key(tenant: str, ref: str) -> dict[str, Any]:
    pk, sk = erasure_key(tenant, ref)
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def read(tenant: str, email: str) -> Tombstone | None:
    """The customer's tombstone, None when they were never erased."""
    return read_ref(tenant, erasure_ref(tenant, email))


def read_ref(tenant: str, ref: str) -> Tombstone | None:
    item = aws.client("dynamodb").get_item(TableName=_table(), Key=_key(tenant, ref), ConsistentRead=True).get("Item")
    return Tombstone.from_item(item) if item else None


def _conditional(request: dict[str, Any]) -> bool:
    ddb = aws.client("dynamodb")
    try:
        ddb.update_item(TableName=_table(), **request)
        return True
    except ddb.exceptions.ConditionalCheckFailedException:
        return False


def start(tenant: str, email: str, by: str, now: float | None = None, previous: Tombstone | None = None) -> Tombstone:
    """A new erasure: a fresh id and time, in progress, leased to this run. `previous`: the
    completed erasure read before (its tombstone is taken over), None when there was none."""
    ref, now = erasure_ref(tenant, email), int(now if now is not None else time.time())
    erasure_id = uuid.uuid4().hex
    values = {
        ":id": {"S": erasure_id},
        ":at": {"N": str(now)},
        ":st": {"S": IN_PROGRESS},
        ":by": {"S": by},
        ":t": {"S": tenant},
        ":ref": {"S": ref},
        ":kind": {"S": "erasure"},
        ":zero": {"N": "0"},
        ":lease": {"N": str(now + LEASE_S)},
        ":exp": {"N": str(now + RETENTION_S)},
    }
    counts = ", ".join(f"count_{name} = :zero" for name in COUNT_FIELDS)
    request: dict[str, Any] = {
        "Key": _key(tenant, ref),
        "UpdateExpression": (
            f"SET erasure_id = :id, erased_at = :at, #st = :st, #by = :by, tenant = :t, #ref = :ref, "
            f"kind = :kind, lease_until = :lease, created_time = :at, expires_at = :exp, {counts}"
        ),
        "ExpressionAttributeNames": {"#st": "status", "#by": "by", "#ref": "ref"},
        "ExpressionAttributeValues": values,
    }
    if previous is None:
        request["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        request["ConditionExpression"] = "#st = :done AND erasure_id = :prev"
        values.update({":done": {"S": COMPLETE}, ":prev": {"S": previous.erasure_id}})
    if not _conditional(request):
        raise ErasureBusy("another run started this erasure meanwhile")
    return Tombstone(tenant, ref, erasure_id, now, IN_PROGRESS, by, dict.fromkeys(COUNT_FIELDS, 0))


def take_lease(tombstone: Tombstone, now: float | None = None) -> None:
    """Continue an erasure left in progress: this run holds it until the lease runs out."""
    now = int(now if now is not None else time.time())
    if not _conditional(
        {
            "Key": _key(tombstone.tenant, tombstone.ref),
            "UpdateExpression": "SET lease_until = :lease",
            "ConditionExpression": "erasure_id = :id AND #st = :st AND (attribute_not_exists(lease_until) "
            "OR lease_until < :now)",
            "ExpressionAttributeNames": {"#st": "status"},
            "ExpressionAttributeValues": {
                ":lease": {"N": str(now + LEASE_S)},
                ":id": {"S": tombstone.erasure_id},
                ":st": {"S": IN_PROGRESS},
                ":now": {"N": str(now)},
            },
        }
    ):
        raise ErasureBusy("another run of this erasure is in progress")


def release(tombstone: Tombstone) -> None:
    """Give the lease back (a failed run): a retry may continue at once."""
    _conditional(
        {
            "Key": _key(tombstone.tenant, tombstone.ref),
            "UpdateExpression": "REMOVE lease_until",
            "ConditionExpression": "erasure_id = :id",
            "ExpressionAttributeValues": {":id": {"S": tombstone.erasure_id}},
        }
    )


def add_counts(tombstone: Tombstone, counts: dict[str, int]) -> None:
    """What a step erased, added to the tombstone (a retry answers the whole erasure's counts)."""
    numbers = {name: int(value) for name, value in counts.items() if int(value)}
    if not numbers:
        return
    names = {f"#c{i}": f"count_{name}" for i, name in enumerate(numbers)}
    values = {f":c{i}": {"N": str(value)} for i, value in enumerate(numbers.values())}
    aws.client("dynamodb").update_item(
        TableName=_table(),
        Key=_key(tombstone.tenant, tombstone.ref),
        UpdateExpression="ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(numbers))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )
    for name, value in numbers.items():
        tombstone.counts[name] = tombstone.counts.get(name, 0) + value


def complete(tombstone: Tombstone, now: float | None = None) -> Tombstone:
    """The erasure is done: a later DELETE finds nothing (404) unless a new customer came since."""
    aws.client("dynamodb").update_item(
        TableName=_table(),
        Key=_key(tombstone.tenant, tombstone.ref),
        UpdateExpression="SET #st = :done, completed_at = :now REMOVE lease_until",
        ExpressionAttributeNames={"#st": "status"},
        ExpressionAttributeValues={":done": {"S": COMPLETE}, ":now": {"N": str(int(now or time.time()))}},
    )
    stored = read_ref(tombstone.tenant, tombstone.ref)
    return stored if stored is not None else tombstone


def erased_after(tenant: str, email: str, created_time: float | None) -> bool:
    """True when a record created at `created_time` belongs to a customer erased since: a stream
    record of it must not write anything (identity, audit, notification)."""
    tombstone = read(tenant, email)
    return tombstone is not None and int(created_time or 0) <= tombstone.erased_at
