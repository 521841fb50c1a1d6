"""Records written before the review queue's status index existed lack `tenant#status`, its key:
`backfill_status_keys` gives it to them (a one-off scan by the deployment tooling, never by a
route). Idempotent, and conditional on the status it read: a record changed meanwhile is written
by the service itself, which keeps the key with every status (chalicelib.storage.models.set_status).
`backfill_id_number_keys` does the same for `tenant#id`, the duplicate check's ID-number index key
(issue 16), which every save sets (chalicelib.storage.records).
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


ID_NUMBER_KEY = "tenant#id"


def backfill_id_number_keys(ddb: Any, table: str) -> int:
    """Set `tenant#id` (the duplicate check's ID-number index key, issue 16) on every record of
    `table` that lacks it; returns how many. Idempotent; conditional on the number it read."""
    from chalicelib.storage.duplicates import record_id_key

    written = 0
    for page in ddb.get_paginator("scan").paginate(
        TableName=table,
        ProjectionExpression="#pk, #sk, tenant, id_type, id_value",
        FilterExpression="attribute_not_exists(#ik)",
        ExpressionAttributeNames={"#pk": PK, "#sk": SK, "#ik": ID_NUMBER_KEY},
    ):
        for item in page.get("Items", []):
            tenant, id_type, id_value = (item.get(n, {}).get("S") for n in ("tenant", "id_type", "id_value"))
            if not tenant or not id_type or not id_value:
                continue
            try:
                ddb.update_item(
                    TableName=table,
                    Key={PK: item[PK], SK: item[SK]},
                    UpdateExpression="SET #ik = :key",
                    ConditionExpression="attribute_exists(#pk) AND id_value = :value",
                    ExpressionAttributeNames={"#ik": ID_NUMBER_KEY, "#pk": PK},
                    ExpressionAttributeValues={
                        ":key": {"S": record_id_key(tenant, id_type, id_value)},
                        ":value": {"S": id_value},
                    },
                )
                written += 1
            except ddb.exceptions.ConditionalCheckFailedException:
                continue
    return written
