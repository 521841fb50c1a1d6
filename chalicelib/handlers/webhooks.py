"""deliver_webhooks: every event of a tenant, POSTed to the tenant's webhook (docs/integrations.md).

The stage's topic `{stage}-kyc-notifications` feeds the queue `{stage}-kyc-webhooks` (an SNS
subscription, so every event: decisions, erasures, and whatever is published there later).
Each message is one event of one tenant; the handler loads the tenant's webhook, skips events
it did not subscribe to, checks the URL again (DNS at delivery time) and POSTs the SNS message's
JSON, signed (outbound/delivery.py), with a short timeout. `webhook-id` is `msg_` + the SNS
message id: the same for every attempt of one event.

A failed attempt never blocks the queue: the event goes back on the same queue as a new
message carrying the attempt count, the time of the first attempt and when it is due
(domain/retries.py: exponential backoff with jitter, for at least the stage's window, 24 h when
deployed); SQS delays a message at most 15 minutes, so a message received before it is due is
enqueued again for the rest. After the last attempt the event goes to `{stage}-kyc-webhooks-dlq`
with a log line. A message the handler itself fails on (storage or KMS unavailable) is reported
as a batch item failure; SQS retries it and, after 5 receives, moves it to the same DLQ.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.domain.retries import RetrySchedule, sqs_delay
from chalicelib.handlers.batch import process_batch
from chalicelib.logs import logger
from chalicelib.outbound.delivery import Attempt, post, signature_headers
from chalicelib.outbound.urls import UrlRefused, check_url
from chalicelib.storage import webhooks

RETRY_KIND = "kyc.webhook.delivery"
CONCURRENCY = 10  # a batch's deliveries at once: one slow endpoint holds up no other message
_random = secrets.SystemRandom()


@dataclass(frozen=True)
class Delivery:
    """One event on its way to one tenant's webhook."""

    webhook_id: str
    tenant: str
    event_type: str
    event: str  # the SNS message's JSON, exactly as published: the POST body
    attempts: int  # attempts made so far
    first_at: float  # when the first attempt was made (0: not yet)
    due_at: float  # not before


def schedule() -> RetrySchedule:
    i = settings().integrations
    return RetrySchedule(
        first_delay=i.retry_first_delay,
        factor=i.retry_factor,
        max_delay=i.retry_max_delay,
        window=i.retry_window,
        jitter=i.retry_jitter,
    )


def parse(body: str, now: float) -> Delivery | None:
    """An SNS notification (the first attempt) or one of our own re-enqueued deliveries."""
    try:
        envelope = json.loads(body)
        if not isinstance(envelope, dict):
            return None
        if envelope.get("Type") == "Notification":
            message = envelope["Message"]
            event = json.loads(message)
            return Delivery(
                webhook_id=f"msg_{envelope['MessageId']}",
                tenant=str(event["tenant"]),
                event_type=str(event["event"]),
                event=str(message),
                attempts=0,
                first_at=0.0,
                due_at=now,
            )
        if envelope.get("kind") == RETRY_KIND:
            return Delivery(**{name: envelope[name] for name in Delivery.__dataclass_fields__})
    except (ValueError, KeyError, TypeError):
        return None
    return None


def enqueue(delivery: Delivery, queue: str, now: float) -> None:
    aws.client("sqs").send_message(
        QueueUrl=aws.queue_url(queue),
        MessageBody=json.dumps({"kind": RETRY_KIND, **asdict(delivery)}),
        DelaySeconds=sqs_delay(delivery.due_at, now),
        MessageAttributes={"tenant": {"DataType": "String", "StringValue": delivery.tenant}},
    )


def attempt(delivery: Delivery, hook: webhooks.Webhook) -> Attempt:
    i = settings().integrations
    try:
        target = check_url(hook.url, allow_loopback_http=i.allow_loopback_http)  # resolved again: rebinding
    except UrlRefused as exc:
        return Attempt(status=None, error=f"url_refused:{exc.problem}")
    now = dt.datetime.now(dt.UTC)
    headers = signature_headers(delivery.webhook_id, delivery.event, hook.signing_secrets(now.timestamp()), now)
    return post(target, delivery.event, headers, timeout=i.webhook_timeout)


def deliver(body: str, message_id: str | None = None) -> str:
    """Handle one queue message; returns what happened (tests and logs)."""
    now = time.time()
    delivery = parse(body, now)
    log, i = logger(), settings().integrations
    if delivery is None:
        log.error("webhook message unreadable, dropped", extra={"message_id": message_id})
        return "unreadable"
    if delivery.due_at > now + 0.5:  # SQS delays at most 15 minutes: wait again for the rest
        enqueue(delivery, i.webhook_queue_name, now)
        return "waiting"
    hook = webhooks.get(delivery.tenant)
    if hook is None or delivery.event_type not in hook.events:
        return "no_webhook" if hook is None else "not_subscribed"
    outcome = attempt(delivery, hook)
    done = replace(delivery, attempts=delivery.attempts + 1, first_at=delivery.first_at or now)
    fields = {
        "tenant": delivery.tenant,
        "webhook_id": delivery.webhook_id,
        "event": delivery.event_type,
        "attempt": done.attempts,
    }
    if outcome.ok:
        log.info("webhook delivered", extra={**fields, "status": outcome.status})
        return "delivered"
    finished = time.time()
    plan = schedule()
    if plan.gives_up(done.first_at, finished):
        dead_letter(done, outcome)
        log.error(
            "webhook delivery given up, kept in the dead-letter queue",
            extra={**fields, "last": outcome.describe(), "queue": i.webhook_dlq_name},
        )
        return "dead_lettered"
    due = finished + plan.delay(done.attempts, _random.random())
    enqueue(replace(done, due_at=due), i.webhook_queue_name, finished)
    log.warning(
        "webhook attempt failed, retry scheduled",
        extra={**fields, "last": outcome.describe(), "retry_in_s": round(due - finished, 1)},
    )
    return "retry_scheduled"


def dead_letter(delivery: Delivery, last: Attempt) -> None:
    aws.client("sqs").send_message(
        QueueUrl=aws.queue_url(settings().integrations.webhook_dlq_name),
        MessageBody=json.dumps(
            {"kind": RETRY_KIND, **asdict(delivery), "last_attempt": last.describe(), "given_up_at": time.time()}
        ),
        MessageAttributes={"tenant": {"DataType": "String", "StringValue": delivery.tenant}},
    )


def handle_batch(event: Any) -> dict[str, Any]:
    def one(record: dict[str, Any]) -> str:
        return deliver(str(record.get("body") or ""), record.get("messageId"))

    return process_batch(event, one, concurrency=CONCURRENCY, name="deliver_webhooks", event_type=EventType.SQS)
