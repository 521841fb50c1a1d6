"""Notifier stream handler: exactly one SNS message per decision.

Delivery is at least once, so each publish runs under Powertools' idempotency
utility, keyed by the record and its decision id, stored in the events table.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.handlers.batch import process_batch
from chalicelib.handlers.streams import as_model, decision_changed, images
from chalicelib.keys import NOTIFY_IDEMPOTENCY_PK
from chalicelib.logs import logger, ref
from chalicelib.storage.models import tables
from chalicelib.storage.tombstones import erased_after

IDEMPOTENCY_TTL_S = 7 * 24 * 3600


def message(record: Any) -> dict[str, Any]:
    """The contract's message for a KYC record's decision (CONTRACT.md §2)."""
    decided = int(record.decided_time or 0)
    return {
        "event": "kyc.status_changed",
        "tenant": record.tenant,
        "email": record.email,
        "id_type": record.id_type,
        "validation_status": record.validation_status,
        "reasons": list(record.reasons or []),
        "decided_by": record.decided_by,
        "occurred_at": dt.datetime.fromtimestamp(decided, dt.UTC).isoformat().replace("+00:00", "Z"),
    }


def publish(msg: dict[str, Any]) -> str:
    response = aws.client("sns").publish(
        TopicArn=aws.topic_arn(),
        Message=json.dumps(msg),
        MessageAttributes={
            "tenant": {"DataType": "String", "StringValue": msg["tenant"]},
            "validation_status": {"DataType": "String", "StringValue": msg["validation_status"]},
        },
    )
    return str(response["MessageId"])


@lru_cache(maxsize=8)
def _idempotent_publish(table: str, endpoint: str | None, region: str) -> tuple[Callable[..., Any], Any]:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    store = DynamoDBPersistenceLayer(
        table_name=table,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=NOTIFY_IDEMPOTENCY_PK,
        expiry_attr="expires_at",
        boto3_client=aws.client("dynamodb"),
    )
    config = IdempotencyConfig(
        event_key_jmespath="[record, decision_id]",
        expires_after_seconds=IDEMPOTENCY_TTL_S,
        raise_on_no_idempotency_key=True,
    )

    def send(decision: dict[str, Any]) -> dict[str, str]:
        return {"message_id": publish(decision["message"])}

    return idempotent_function(send, data_keyword_argument="decision", persistence_store=store, config=config), config


def handle_record(raw: dict[str, Any], context: Any = None) -> None:
    old_image, new_image = images(raw)
    kyc = tables().kyc
    old, new = as_model(kyc, old_image), as_model(kyc, new_image)
    if new is None or not decision_changed(old, new):
        return
    if erased_after(new.tenant, new.email, new.created_time):  # a late record of an erased customer
        logger().info("decision of an erased customer not published", extra={"record": ref(new.pk, new.sk)})
        return
    record = f"{new.pk}|{new.sk}"  # with the decision id, the idempotency key
    s = settings()
    send, config = _idempotent_publish(s.events_table_name, s.aws_endpoint, s.region)
    if context is not None:
        config.register_lambda_context(context)  # in-progress locks expire with the invocation
    result = send(decision={"record": record, "decision_id": new.decision_id, "message": message(new)})
    logger().info("notification published", extra={"record": ref(record), "message_id": result["message_id"]})


def handle_batch(event: Any) -> dict[str, Any]:
    context = getattr(event, "context", None)
    return process_batch(event, lambda raw: handle_record(raw, context), name="notifier")
