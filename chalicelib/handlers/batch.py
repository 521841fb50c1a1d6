"""The one partial-batch runner of the event handlers (DynamoDB streams and SQS).

Powertools' BatchProcessor does the bookkeeping: every record runs, a failing one never
blocks or drops the others, and the failed ones come back as ReportBatchItemFailures
(`{"batchItemFailures": [{"itemIdentifier": sequence number | message id}]}`; Lambda and the
local pollers redeliver them, so handlers are idempotent). Two differences from the stock
processor: records may run concurrently (the verifier's batch, `concurrency`), and a batch
whose every record failed is reported like any other instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

from chalicelib.logs import logger


def raw_record(record: Any) -> dict[str, Any]:
    """The Lambda record dict, whether given a Chalice record object or a dict."""
    return record if isinstance(record, dict) else record.to_dict()


def raw_records(event: Any) -> list[dict[str, Any]]:
    """The records of an event: Lambda's `{"Records": [...]}`, a Chalice event, or records."""
    if isinstance(event, dict):
        return list(event.get("Records") or [])
    return [raw_record(r) for r in event]


class _Processor(BatchProcessor):
    """BatchProcessor running up to `concurrency` records at a time, reporting failures in the
    batch's order and logging each one as the service's structured logs do (no record content)."""

    def __init__(self, event_type: EventType, concurrency: int, name: str):
        super().__init__(event_type, raise_on_entire_batch_failure=False)
        self.concurrency = concurrency
        self.name = name

    def process(self) -> list[tuple[Any, ...]]:
        if self.concurrency > 1 and len(self.records) > 1:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(self.records))) as pool:
                results = list(pool.map(self._process_record, self.records))
        else:
            results = [self._process_record(record) for record in self.records]
        self.fail_messages[:] = [entry[2] for entry in results if entry[0] == "fail"]
        return results

    def failure_handler(self, record: Any, exception: Any) -> Any:
        if self.event_type == EventType.SQS:
            item = record.message_id
        else:
            item = record.dynamodb.sequence_number if record.dynamodb else None
        error = exception[0].__name__ if exception[0] else None
        logger().error(
            "batch record failed", exc_info=exception, extra={"handler": self.name, "item": item, "error": error}
        )
        return super().failure_handler(record, exception)


def process_batch(
    records: Any,
    handle: Callable[[dict[str, Any]], Any],
    concurrency: int = 1,
    name: str = "stream",
    event_type: EventType = EventType.DynamoDBStreams,
) -> dict[str, Any]:
    """Run `handle` on every record (as Lambda's dict); report the failed ones.

    `records`: an event or its records (see raw_records). DynamoDB stream records are reported
    by sequence number, SQS messages by message id.
    """
    processor = _Processor(event_type, max(1, concurrency), name)
    with processor(raw_records(records), lambda record: handle(record.raw_event)):
        processor.process()
    return dict(processor.response())
