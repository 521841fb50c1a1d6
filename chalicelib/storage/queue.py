"""The review queue: a tenant's records, most recently updated first, optionally of one status.

Two global secondary indexes of the KYC table (infra/resources.yaml) answer it with a Query
keyed by the tenant, never a scan and never a filter after the read, so every page is full:

* `tenant-updated`: partition `tenant`, sort `last_updated_time` (every record);
* `tenant-status-updated`: partition `tenant#status` (models.set_status keeps it with
  validation_status), sort `last_updated_time`.

A page is read with Limit = page size + 1: the extra item only tells whether another page follows,
so `next` is None exactly when nothing follows. The position after a page is the last returned
item's keys (table and index keys), which the HTTP layer wraps in an opaque token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.keys import SEP, status_key
from chalicelib.storage.models import KycRecordBase, tables

STATUSES = ("needs_review", "pending", "rejected", "verified")
TENANT_INDEX = "tenant-updated"
STATUS_INDEX = "tenant-status-updated"
PK, SK = "tenant#email", "id_type#id"  # the table's keys (attribute names)
UPDATED = "last_updated_time"


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last item's update time and primary key."""

    updated: int
    pk: str
    sk: str


def _start_key(tenant: str, status: str | None, after: Position) -> dict[str, Any]:
    key: dict[str, Any] = {PK: {"S": after.pk}, SK: {"S": after.sk}, UPDATED: {"N": str(after.updated)}}
    if status is None:
        key["tenant"] = {"S": tenant}
    else:
        key["tenant#status"] = {"S": status_key(tenant, status)}
    return key


def query_arguments(tenant: str, status: str | None) -> dict[str, Any]:
    """The Query of one tenant's queue: keyed by the tenant (and status), newest first."""
    s = settings()
    if status is None:
        return {
            "TableName": s.table_name,
            "IndexName": TENANT_INDEX,
            "ScanIndexForward": False,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": "tenant"},
            "ExpressionAttributeValues": {":p": {"S": tenant}},
        }
    return {
        "TableName": s.table_name,
        "IndexName": STATUS_INDEX,
        "ScanIndexForward": False,
        "KeyConditionExpression": "#p = :p",
        "ExpressionAttributeNames": {"#p": "tenant#status"},
        "ExpressionAttributeValues": {":p": {"S": status_key(tenant, status)}},
    }


def page(
    tenant: str, status: str | None, limit: int, after: Position | None = None
) -> tuple[list[KycRecordBase], Position | None]:
    """Up to `limit` records of the tenant after `after`, and the position to go on from (None
    when no record follows). A position must belong to the tenant: its key starts with it."""
    if after is not None and not after.pk.startswith(tenant + SEP):
        raise ValueError("position of another tenant")
    ddb = aws.client("dynamodb")
    args = query_arguments(tenant, status)
    start = _start_key(tenant, status, after) if after is not None else None
    items: list[dict[str, Any]] = []
    while len(items) <= limit:  # a Query stops at 1 MB: read on until the page is full
        answer = ddb.query(**args, Limit=limit + 1 - len(items), **({"ExclusiveStartKey": start} if start else {}))
        items += answer.get("Items", [])
        start = answer.get("LastEvaluatedKey")
        if not start:
            break
    kyc = tables().kyc
    records = [kyc.from_raw_data(item) for item in items[:limit]]
    if len(items) <= limit:
        return records, None
    last = records[-1]
    return records, Position(int(last.last_updated_time), last.pk, last.sk)
