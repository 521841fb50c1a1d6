"""A customer's rejected submissions in a tenant, for the tenant's `max_attempts` (events table,
`attempts#{tenant}#{email}` / `rejected`): the set of submission ids the verifier rejected.
A set, so a redelivered stream record counts once. Erased with the customer
(`erase_attempts`)."""

from __future__ import annotations

import time
from typing import Any

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.keys import attempts_pk

SK = "rejected"
RETENTION_S = 400 * 24 * 3600  # like the audit trail


def _key(tenant: str, email: str) -> dict[str, Any]:
    return {"pk": {"S": attempts_pk(tenant, email)}, "sk": {"S": SK}}


def count_rejection(tenant: str, email: str, submission_id: str) -> int:
    """Record one rejected submission; returns how many the customer has now."""
    answer = aws.client("dynamodb").update_item(
        TableName=settings().events_table_name,
        Key=_key(tenant, email),
        UpdateExpression="ADD submissions :s SET kind = :k, expires_at = :e",
        ExpressionAttributeValues={
            ":s": {"SS": [submission_id]},
            ":k": {"S": "attempts"},
            ":e": {"N": str(int(time.time()) + RETENTION_S)},
        },
        ReturnValues="ALL_NEW",
    )
    return len(answer["Attributes"].get("submissions", {}).get("SS", []))


def uncount_rejection(tenant: str, email: str, submission_id: str) -> None:
    """A rejection that was not written (a newer submission won) counts for nothing."""
    aws.client("dynamodb").update_item(
        TableName=settings().events_table_name,
        Key=_key(tenant, email),
        UpdateExpression="DELETE submissions :s",
        ExpressionAttributeValues={":s": {"SS": [submission_id]}},
    )


def erase_attempts(tenant: str, email: str) -> int:
    """Erasure: forget the customer's rejected submissions (1 when there was a count, else 0)."""
    old = aws.client("dynamodb").delete_item(
        TableName=settings().events_table_name, Key=_key(tenant, email), ReturnValues="ALL_OLD"
    )
    return 1 if old.get("Attributes") else 0
