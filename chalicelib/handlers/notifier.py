"""Notifier stream handler: exactly one SNS message per decision.

Delivery is at least once, so each publish runs under Powertools' idempotency
utility, keyed by the record and its decision id, stored in the events table.
"""
from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import Any

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.handlers.streams import decision_changed, images, process_batch
from chalicelib.keys import NOTIFY_IDEMPOTENCY_PK
from chalicelib.logs import logger, ref

IDEMPOTENCY_TTL_S = 7 * 24 * 3600


def message(new: dict[str, Any]) -> dict[str, Any]:
    """The contract's message, from a stream NewImage (DynamoDB JSON)."""
    def s(name: str) -> str | None:
        return (new.get(name) or {}).get("S")

    decided = int((new.get("decided_time") or {}).get("N", "0"))
    return {
        "event": "kyc.status_changed",
        "tenant": s("tenant"), "email": s("email"), "id_type": s("id_type"),
        "validation_status": s("validation_status"),
        "reasons": [r.get("S") for r in (new.get("reasons") or {}).get("L", [])],
        "decided_by": s("decided_by"),
        "occurred_at": dt.datetime.fromtimestamp(decided, dt.timezone.utc).isoformat().replace("+00:00", "Z"),
    }


def publish(msg: dict[str, Any]) -> str:
    response = aws.client("sns").publish(
        TopicArn=aws.topic_arn(), Message=json.dumps(msg),
        MessageAttributes={"tenant": {"DataType": "String", "StringValue": msg["tenant"]},
                           "validation_status": {"DataType": "String", "StringValue": msg["validation_status"]}})
    return response["MessageId"]


@lru_cache(maxsize=8)
def _idempotent_publish(table: str, endpoint: str | None, region: str):
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    store = DynamoDBPersistenceLayer(table_name=table, key_attr="pk", sort_key_attr="sk",
                                     static_pk_value=NOTIFY_IDEMPOTENCY_PK, expiry_attr="expires_at",
                                     boto3_client=aws.client("dynamodb"))
    config = IdempotencyConfig(event_key_jmespath="[record, decision_id]",
                               expires_after_seconds=IDEMPOTENCY_TTL_S, raise_on_no_idempotency_key=True)

    def send(decision: dict[str, Any]) -> dict[str, str]:
        return {"message_id": publish(decision["message"])}

    return idempotent_function(send, data_keyword_argument="decision", persistence_store=store,
                               config=config), config


def handle_record(raw: dict[str, Any], context: Any = None) -> None:
    old, new = images(raw)
    if not decision_changed(old, new):
        return
    keys = (raw.get("dynamodb") or {}).get("Keys") or {}
    record = f"{keys.get('tenant#email', {}).get('S')}|{keys.get('id_type#id', {}).get('S')}"
    s = settings()
    send, config = _idempotent_publish(s.events_table_name, s.aws_endpoint, s.region)
    if context is not None:
        config.register_lambda_context(context)  # in-progress locks expire with the invocation
    result = send(decision={"record": record, "decision_id": new["decision_id"]["S"], "message": message(new)})
    logger().info("notification published", extra={"record": ref(record), "message_id": result["message_id"]})


def handle_batch(event) -> dict[str, Any]:
    context = getattr(event, "context", None)
    return process_batch(event, lambda raw: handle_record(raw, context), name="notifier")
