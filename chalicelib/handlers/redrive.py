"""Re-driving what the stream mappings gave up on (`python -m kyc_service redrive`).

When a stream handler's retries are used up, Lambda (and the local pollers, kyc_service/local/
events/) put an on-failure record on `{stage}-kyc-stream-failures`. It describes the batch, not
its records: `requestContext.functionArn` (which handler), `DDBStreamBatchInfo` (`streamArn`,
`shardId`, `startSequenceNumber`, `endSequenceNumber`, the arrival times). The records are read
back from the stream the way AWS gives them (GetShardIterator AT_SEQUENCE_NUMBER, GetRecords up to
the end sequence number). A stream keeps records 24 hours; for an older batch the KYC table is
scanned for the records written in the batch's time window instead.

Then, per record (the latest image of each key):
- `verify_records`: a record still waiting for that submission's verification is re-queued: its
  `redrive_count` goes up with a conditional write, and the stream delivers it to the verifier
  again. One re-driven MAX_REDRIVES times already failed for good: it is marked needs_review
  with GAVE_UP as its reason (a decision like any other: identity, audit and notification
  follow), never left pending.
- `update_identity`, `notify_decisions`: the handler runs again on the record (both are
  idempotent: nothing is written or published twice).
A message is deleted once all its records are handled; one that fails stays for the next run.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.domain.decision import decide_unusable
from chalicelib.handlers.streams import as_model, images
from chalicelib.logs import logger, ref
from chalicelib.stage import resource_names
from chalicelib.storage.models import KycRecordBase, condition_failed, tables

MAX_REDRIVES = 2
GAVE_UP = "automatic verification could not be completed after repeated attempts; a person must review the documents"
WINDOW_MARGIN_S = 60  # around a trimmed batch's arrival times, when the table is scanned instead
HANDLERS = ("verify_records", "update_identity", "notify_decisions")


@dataclass(frozen=True)
class Done:
    """What was done with one record of a failed batch (`record` is a hash, no PII)."""

    handler: str
    record: str
    action: str  # requeued | needs_review | already_decided | gone | reapplied

    def to_dict(self) -> dict[str, str]:
        return {"handler": self.handler, "record": self.record, "action": self.action}


# -- the failed batch and its records ------------------------------------------------------


def handler_of(function_arn: str, stage: str) -> str | None:
    """The app's handler a failure record names: `...:function:kyc-service-{stage}-verify_records`."""
    name = function_arn.rsplit(":function:", 1)[-1].split(":", 1)[0]
    prefix = resource_names(stage).function_prefix
    handler = name[len(prefix) :] if name.startswith(prefix) else None
    return handler if handler in HANDLERS else None


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def read_batch(info: dict[str, Any], streams: Any) -> list[dict[str, Any]] | None:
    """The batch's records from the stream, in order; None when the stream no longer holds them."""
    end = int(info["endSequenceNumber"])
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=info["streamArn"],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=info["startSequenceNumber"],
        ).get("ShardIterator")
    except (streams.exceptions.TrimmedDataAccessException, streams.exceptions.ResourceNotFoundException):
        return None
    records: list[dict[str, Any]] = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        for record in page.get("Records", []):
            if int(record["dynamodb"]["SequenceNumber"]) > end:
                return records
            records.append(record)
        if not page.get("Records"):
            break
        iterator = page.get("NextShardIterator")
    return records or None


def scan_window(info: dict[str, Any], handler: str) -> list[dict[str, Any]]:
    """Stream records made up from the KYC table for a batch the stream no longer holds: the
    records written in its time window that the handler would have acted on."""
    first = _epoch(info.get("approximateArrivalOfFirstRecord")) or 0
    last = _epoch(info.get("approximateArrivalOfLastRecord")) or time.time()
    condition = "verify = :t" if handler == "verify_records" else "verify = :f AND attribute_exists(decision_id)"
    values = {
        ":lo": {"N": str(int(first - WINDOW_MARGIN_S))},
        ":hi": {"N": str(int(last + WINDOW_MARGIN_S))},
        (":t" if handler == "verify_records" else ":f"): {"BOOL": handler == "verify_records"},
    }
    out = []
    for page in (
        aws.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=settings().table_name,
            ExpressionAttributeValues=values,
            FilterExpression=f"last_updated_time BETWEEN :lo AND :hi AND {condition}",
        )
    ):
        for item in page.get("Items", []):
            keys = {name: item[name] for name in ("tenant#email", "id_type#id")}
            out.append({"eventName": "MODIFY", "dynamodb": {"Keys": keys, "NewImage": item}})
    return out


def latest_per_key(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    last: dict[str, dict[str, Any]] = {}
    for record in records:
        keys = (record.get("dynamodb") or {}).get("Keys") or {}
        last[json.dumps(keys, sort_keys=True, default=str)] = record
    return list(last.values())


# -- per record ---------------------------------------------------------------------------------


def _current(record: KycRecordBase) -> KycRecordBase | None:
    try:
        return type(record).get(record.pk, record.sk, consistent_read=True)
    except type(record).DoesNotExist:
        return None


def requeue_or_give_up(raw: dict[str, Any], max_redrives: int = MAX_REDRIVES) -> str:
    """A verifier failure: re-queue the submission, or mark it needs_review once it has been
    re-driven `max_redrives` times."""
    from chalicelib.handlers.verifier import write_decision

    _old, new_image = images(raw)
    image = as_model(tables().kyc, new_image)
    if image is None:
        return "gone"
    current = _current(image)
    if current is None:
        return "gone"
    if current.submission_id != image.submission_id or current.verify is not True:
        return "already_decided"
    attempts = int(current.redrive_count or 0)
    if attempts >= max_redrives:
        decision = decide_unusable(GAVE_UP, review=True)
        decision.checks = {"verification": {"passed": None, "error": "retries_exhausted", "redrives": attempts}}
        return "needs_review" if write_decision(current, decision) else "already_decided"
    kyc = type(current)
    try:
        current.update(
            actions=[kyc.redrive_count.set(attempts + 1), kyc.last_updated_time.set(int(time.time()))],
            condition=(kyc.submission_id == current.submission_id) & (kyc.verify == True),  # noqa: E712
        )
    except UpdateError as exc:
        if condition_failed(exc):
            return "already_decided"
        raise
    return "requeued"


def reapply(handler: str) -> Callable[[dict[str, Any]], str]:
    def run(raw: dict[str, Any]) -> str:
        if handler == "update_identity":
            from chalicelib.handlers import identity

            identity.handle_record(raw)
        else:
            from chalicelib.handlers import notifier

            notifier.handle_record(raw)
        return "reapplied"

    return run


def redrive_batch(failure: dict[str, Any], streams: Any, max_redrives: int = MAX_REDRIVES) -> list[Done]:
    """Everything one on-failure record describes, handled. Raises if a record cannot be."""
    info = failure.get("DDBStreamBatchInfo") or {}
    handler = handler_of(str((failure.get("requestContext") or {}).get("functionArn") or ""), settings().stage)
    if handler is None or not info:
        return [Done(handler or "unknown", "-", "not_a_stream_failure")]
    records = read_batch(info, streams)
    if records is None:
        records = scan_window(info, handler)
    act = (lambda raw: requeue_or_give_up(raw, max_redrives)) if handler == "verify_records" else reapply(handler)
    done = []
    for raw in latest_per_key(records):
        if raw.get("eventName") == "REMOVE":
            continue
        keys = raw["dynamodb"]["Keys"]
        record = ref(keys["tenant#email"]["S"], keys["id_type#id"]["S"])
        done.append(Done(handler, record, act(raw)))
    return done


def run(
    max_messages: int = 1000, max_redrives: int = MAX_REDRIVES, report: Callable[[Done], None] | None = None
) -> dict[str, int]:
    """Drain the stage's stream failure queue once; returns what was done, by action."""
    sqs, streams = aws.client("sqs"), aws.client("dynamodbstreams")
    url = aws.queue_url(settings().failure_queue_name)
    totals: dict[str, int] = {"messages": 0, "failed_messages": 0}
    seen = 0
    while seen < max_messages:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=60
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            seen += 1
            totals["messages"] += 1
            try:
                done = redrive_batch(json.loads(message["Body"]), streams, max_redrives)
            except Exception as exc:  # noqa: BLE001 - the message stays (visible again later) for the next run
                logger().error("redrive of a failed batch failed", extra={"error": type(exc).__name__})
                totals["failed_messages"] += 1
                continue
            for item in done:
                totals[item.action] = totals.get(item.action, 0) + 1
                if report is not None:
                    report(item)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return totals
