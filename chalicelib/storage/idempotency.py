"""Where create_or_update's idempotency records live, and how a customer's are erased.

Powertools' DynamoDB persistence layer keeps one record per (tenant, caller, Idempotency-Key)
in the events table: partition `idempotency#create_or_update#{tenant}` (its static_pk_value),
sort key Powertools' hashed key, the first response (status and body) as `response_data`, and
`expires_at` (the table's TTL). A caller's key may name different customers (an admin's), so the
record's own key cannot hold the customer; instead every stored response gets a pointer item
in the customer's partition, `idempotency#customer#{tenant}#{email}`, written in the same step
that stores the response. `erase_idempotency(tenant, email)` is therefore one Query of that
partition and a delete per item, never a scan.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.keys import idempotency_customer_pk, idempotency_pk

CUSTOMER_FIELD = "customer"  # the e-mail the stored response belongs to (in the function's result)
RESPONSE_ATTR = "response_data"  # not "data": the events table's own items use that name for a map


class CustomerIndexedLayer(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB layer, plus a pointer per stored response in its customer's partition."""

    def __init__(self, table_name: str, tenant: str, ddb: Any):
        super().__init__(
            table_name=table_name,
            key_attr="pk",
            sort_key_attr="sk",
            static_pk_value=idempotency_pk(tenant),
            expiry_attr="expires_at",
            data_attr=RESPONSE_ATTR,
            boto3_client=ddb,
        )
        self.tenant = tenant

    def _update_record(self, data_record: DataRecord) -> None:
        customer = _customer(data_record.response_data)
        if customer:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "pk": {"S": idempotency_customer_pk(self.tenant, customer)},
                    "sk": {"S": data_record.idempotency_key},
                    "kind": {"S": "idempotency_pointer"},
                    "target_pk": {"S": self.static_pk_value},
                    "expires_at": {"N": str(int(data_record.expiry_timestamp or 0) + 3600)},
                },
            )
        super()._update_record(data_record)


def _customer(response_data: str | None) -> str | None:
    try:
        value = json.loads(response_data or "{}").get(CUSTOMER_FIELD)
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None


@lru_cache(maxsize=256)
def _layer(table: str, tenant: str, endpoint: str | None, region: str) -> CustomerIndexedLayer:
    return CustomerIndexedLayer(table, tenant, ddb=aws.client("dynamodb"))


def persistence_layer(tenant: str) -> CustomerIndexedLayer:
    """The tenant's idempotency store (one per tenant and stage, built once per process)."""
    s = settings()
    return _layer(s.events_table_name, tenant, s.aws_endpoint, s.region)


def erase_idempotency(tenant: str, email: str) -> int:
    """Delete the stored create_or_update responses of one customer (erasure, issue 13).

    One Query of the customer's pointer partition, then the responses and the pointers are
    deleted. Returns how many stored responses were deleted. Idempotent: a second call
    returns 0."""
    ddb = aws.client("dynamodb")
    table = settings().events_table_name
    deleted = 0
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": idempotency_customer_pk(tenant, email)}},
        "ConsistentRead": True,
    }
    while True:
        page = ddb.query(**kwargs)
        for pointer in page.get("Items", []):
            target = pointer.get("target_pk", {}).get("S") or idempotency_pk(tenant)
            old = ddb.delete_item(
                TableName=table, Key={"pk": {"S": target}, "sk": pointer["sk"]}, ReturnValues="ALL_OLD"
            )
            deleted += 1 if old.get("Attributes") else 0
            ddb.delete_item(TableName=table, Key={"pk": pointer["pk"], "sk": pointer["sk"]})
        if not page.get("LastEvaluatedKey"):
            return deleted
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
