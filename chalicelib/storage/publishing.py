"""Messages on the stage's topic, each published once however often its cause is delivered.

Stream records and erasure retries arrive at least once, so a publish runs under Powertools'
idempotency utility: one marker per message key in the events table (`static_pk` partition,
`expires_at` TTL). The notifier (a decision's `kyc.status_changed`) and the erasure (`kyc.erased`)
both publish through here, each with its own partition and key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from chalicelib import aws
from chalicelib.config import settings


def publish(message: dict[str, Any], attributes: tuple[str, ...] = ("tenant",)) -> str:
    """Publish `message` as JSON with the named fields as string message attributes (for
    subscription filters); returns the message id."""
    response = aws.client("sns").publish(
        TopicArn=aws.topic_arn(),
        Message=json.dumps(message),
        MessageAttributes={name: {"DataType": "String", "StringValue": message[name]} for name in attributes},
    )
    return str(response["MessageId"])


@lru_cache(maxsize=16)
def _publisher(
    static_pk: str, key: str, ttl_s: int, attributes: tuple[str, ...], table: str, endpoint: str | None, region: str
) -> tuple[Callable[..., Any], Any]:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    store = DynamoDBPersistenceLayer(
        table_name=table,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=static_pk,
        expiry_attr="expires_at",
        boto3_client=aws.client("dynamodb"),
    )
    config = IdempotencyConfig(event_key_jmespath=key, expires_after_seconds=ttl_s, raise_on_no_idempotency_key=True)

    def send(event: dict[str, Any]) -> dict[str, str]:
        return {"message_id": publish(event["message"], attributes)}

    return idempotent_function(send, data_keyword_argument="event", persistence_store=store, config=config), config


def publish_once(
    event: dict[str, Any],
    *,
    static_pk: str,
    key: str,
    ttl_s: int,
    attributes: tuple[str, ...] = ("tenant",),
    context: Any = None,
) -> str:
    """Publish `event["message"]` unless a message of the same key (`key`, a JMESPath over
    `event`) was published within `ttl_s`; returns the message id (the first one's on a repeat).
    With a Lambda context, an in-progress marker expires with the invocation."""
    s = settings()
    send, config = _publisher(static_pk, key, ttl_s, attributes, s.events_table_name, s.aws_endpoint, s.region)
    if context is not None:
        config.register_lambda_context(context)
    return str(send(event=event)["message_id"])
