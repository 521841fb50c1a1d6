"""The per-tenant request quota (docs/deploy.md): one counter per tenant and fixed window in the
events table, `quota#<tenant>` / `<window start>`, incremented atomically by every authenticated
request and expired by the table's TTL after its window. API Gateway's stage throttling bounds
the whole API; this keeps one tenant from using all of it (a flood from one tenant gets 429s, the
others are served)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from chalicelib import aws
from chalicelib.config import settings


@dataclass(frozen=True)
class Usage:
    count: int  # requests of the tenant in this window, this one included
    retry_after: int  # seconds until the window ends


def clock() -> float:
    return time.time()


def take(tenant: str, window: int) -> Usage:
    """Count one request of `tenant` in the current window of `window` seconds."""
    now = clock()
    start = int(now // window) * window
    answer = aws.client("dynamodb").update_item(
        TableName=settings().events_table_name,
        Key={"pk": {"S": f"quota#{tenant}"}, "sk": {"S": str(start)}},
        UpdateExpression="ADD hits :one SET expires_at = if_not_exists(expires_at, :expires)",
        ExpressionAttributeValues={":one": {"N": "1"}, ":expires": {"N": str(start + 2 * window)}},
        ReturnValues="UPDATED_NEW",
    )
    return Usage(count=int(answer["Attributes"]["hits"]["N"]), retry_after=max(1, int(start + window - now)))
