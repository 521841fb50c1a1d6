"""Records written before the review queue's status index existed lack `tenant#status`, its key:
`backfill_status_keys` gives it to them (a one-off scan by the deployment tooling, never by a
route). Idempotent, and conditional on the status it read: a record changed meanwhile is written
by the service itself, which keeps the key with every status (chalicelib.storage.models.set_status).
"""

from __future__ import annotations

from typing import Any

from chalicelib.keys import status_key

PK, SK, STATUS_KEY = "tenant#email", "id_type#id", "tenant#status"


def backfill_status_keys(ddb: Any, table: str) -> int:
    """Set `tenant#status` on every record of `table` that lacks it; returns how many."""
    written = 0
    for page in ddb.get_paginator("scan").paginate(
        TableName=table,
        ProjectionExpression="#pk, #sk, tenant, validation_status",
        FilterExpression="attribute_not_exists(#ts)",
        ExpressionAttributeNames={"#pk": PK, "#sk": SK, "#ts": STATUS_KEY},
    ):
        for item in page.get("Items", []):
            tenant, status = item.get("tenant", {}).get("S"), item.get("validation_status", {}).get("S")
            if not tenant or not status:
                continue
            try:
                ddb.update_item(
                    TableName=table,
                    Key={PK: item[PK], SK: item[SK]},
                    UpdateExpression="SET #ts = :key",
                    ConditionExpression="attribute_exists(#pk) AND validation_status = :status",
                    ExpressionAttributeNames={"#ts": STATUS_KEY, "#pk": PK},
                    ExpressionAttributeValues={":key": {"S": status_key(tenant, status)}, ":status": {"S": status}},
                )
                written += 1
            except ddb.exceptions.ConditionalCheckFailedException:
                continue
    return written
