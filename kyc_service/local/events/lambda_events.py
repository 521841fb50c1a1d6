"""What Lambda hands a handler, built locally: event records' shapes (times, DynamoDB JSON, S3
keys), the invocation context, and Lambda's reading of a ReportBatchItemFailures response."""

from __future__ import annotations

import base64
import datetime as _dt
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote_plus

# Returned by parse_batch_item_failures when the whole batch failed.
WHOLE_BATCH = object()
MEMORY_MB, TIMEOUT_S = 128, 60.0  # what a local invocation's context reports


def utc_iso(ts: float | None = None, millis: bool = True) -> str:
    t = _dt.datetime.fromtimestamp(ts if ts is not None else time.time(), _dt.UTC)
    if millis:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(value: Any) -> float:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return time.time()


def ddb_json(value: Any) -> Any:
    """DynamoDB attribute values as Lambda's JSON has them (binary as base64 text)."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: ddb_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [ddb_json(v) for v in value]
    return value


def s3_key_encode(key: str) -> str:
    """Encode an object key the way S3 event notifications do ("a b/c+d" -> "a+b/c%2Bd")."""
    return quote_plus(key, safe="/")


def make_context(
    function_name: str, function_arn: str = "", memory_size: int = MEMORY_MB, timeout_seconds: float = TIMEOUT_S
) -> Any:
    """A Lambda context object (chalice.local.LambdaContext) for one invocation."""
    from chalice.local import LambdaContext

    ctx = LambdaContext(function_name, memory_size, max_runtime_ms=int(timeout_seconds * 1000))
    ctx.invoked_function_arn = function_arn
    ctx.log_group_name = f"/aws/lambda/{function_name}"
    ctx.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
    return ctx


def parse_batch_item_failures(response: Any, valid_ids: Iterable[str]) -> Any:
    """Lambda's ReportBatchItemFailures rules.

    Returns a set of failed item identifiers (empty = success) or WHOLE_BATCH.
    Success: None, {}, absent/None/empty `batchItemFailures`. Whole batch failed: an
    entry whose `itemIdentifier` is missing, null, empty or not an id of the batch.
    Any other response shape (not a dict, or a non-list batchItemFailures) is
    ignored like Lambda does for a response it cannot parse as a failure report.
    """
    if not isinstance(response, dict):
        return set()
    failures = response.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list):
        return WHOLE_BATCH
    valid = set(valid_ids)
    failed: set[str] = set()
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or not ident or ident not in valid:
            return WHOLE_BATCH
        failed.add(ident)
    return failed
