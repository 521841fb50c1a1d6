"""DynamoDB stream plumbing shared by the stream handlers: images as models, and
partial batch responses (ReportBatchItemFailures) with optional concurrency."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

from chalicelib.logs import logger


def raw_record(record: Any) -> dict[str, Any]:
    """The Lambda record dict, whether given a Chalice DynamoDBRecord or a dict."""
    return record if isinstance(record, dict) else record.to_dict()


def images(record: dict[str, Any]) -> tuple[dict | None, dict | None]:
    ddb = record.get("dynamodb") or {}
    return ddb.get("OldImage"), ddb.get("NewImage")


def sequence_number(record: dict[str, Any]) -> str:
    return (record.get("dynamodb") or {}).get("SequenceNumber", "")


def as_model(model_cls, image: dict | None):
    return None if not image else model_cls.from_raw_data(image)


def process_batch(records: Iterable[Any], handle: Callable[[dict[str, Any]], None],
                  concurrency: int = 1, name: str = "stream") -> dict[str, list[dict[str, str]]]:
    """Run `handle` on every record; report the failed ones by sequence number.

    One failing record never blocks or drops the others: Lambda (and the local
    poller) redeliver from the first failed record, so handlers are idempotent.
    """
    raws = [raw_record(r) for r in records]

    def run(record: dict[str, Any]) -> str | None:
        try:
            handle(record)
            return None
        except Exception as exc:  # reported as a partial failure, never raised
            logger().exception("stream record failed", extra={
                "handler": name, "sequence_number": sequence_number(record), "error": type(exc).__name__})
            return sequence_number(record)

    if concurrency > 1 and len(raws) > 1:
        with ThreadPoolExecutor(max_workers=min(concurrency, len(raws))) as pool:
            results = list(pool.map(run, raws))
    else:
        results = [run(r) for r in raws]
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in results if seq is not None]}


def decision_changed(old: dict | None, new: dict | None) -> bool:
    """True when the new image carries a decision the old image did not."""
    if not new or "decision_id" not in new or (new.get("verify") or {}).get("BOOL", False):
        return False
    new_id = new["decision_id"].get("S")
    old_id = ((old or {}).get("decision_id") or {}).get("S")
    return bool(new_id) and new_id != old_id
