"""Lambda event source emulation for the local stack.

`chalice local` serves the REST API only; it never runs `@app.on_dynamodb_record`,
`@app.on_sqs_message` or `@app.on_s3_event` handlers. `EventSourceManager` reads
the handlers from the Chalice app's `event_sources` and runs them against the
embedded AWS (moto server) the way Lambda's event source mappings and S3
notifications would:

    mgr = EventSourceManager(app_module, "http://127.0.0.1:5000", "us-east-1",
                             stage="local", failure_queue="local-kyc-stream-failures")
    mgr.start()          # one daemon thread per handler
    ...
    mgr.stop()           # prompt, joins every thread

Tests drive the same pollers synchronously with `mgr.poll_once()` / `mgr.drain()`.

Log lines carry counts, sequence numbers and message ids only: records hold PII.
docs/local.md ("Event sources") lists every difference from AWS.
"""
from __future__ import annotations

import base64
import datetime as _dt
import importlib
import itertools
import json
import logging
import re
import threading
import time
import uuid
from types import ModuleType
from typing import Any, Callable, Iterable
from urllib.parse import quote_plus, unquote_plus

log = logging.getLogger("kyc_service.local.events")

__all__ = [
    "EventSourceManager",
    "StreamPoller",
    "SQSPoller",
    "S3Poller",
    "make_context",
    "parse_batch_item_failures",
    "WHOLE_BATCH",
]

# Sentinel returned by parse_batch_item_failures when the whole batch failed.
WHOLE_BATCH = object()

DEFAULT_MAX_RETRIES = 3          # MaximumRetryAttempts of the deployed stream mappings
DEFAULT_S3_MAX_RETRIES = 2       # Lambda asynchronous invocation retries
MAX_SQS_RECEIVE = 10             # SQS ReceiveMessage limit per call


# --------------------------------------------------------------------------- helpers

def _utc_iso(ts: float | None = None, millis: bool = True) -> str:
    t = _dt.datetime.fromtimestamp(ts if ts is not None else time.time(), _dt.timezone.utc)
    if millis:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: Any) -> float:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return _dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return time.time()


def _ddb_json(value: Any) -> Any:
    """DynamoDB attribute values as Lambda's JSON has them (binary as base64 text)."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: _ddb_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_ddb_json(v) for v in value]
    return value


def s3_key_encode(key: str) -> str:
    """Encode an object key the way S3 event notifications do ("a b/c+d" -> "a+b/c%2Bd")."""
    return quote_plus(key, safe="/")


def make_context(function_name: str, function_arn: str = "", memory_size: int = 128,
                 timeout_seconds: float = 60.0):
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


class _Clients:
    """boto3 clients for the embedded AWS, created once per service (thread-safe use)."""

    def __init__(self, aws: Any, region: str | None, endpoint_url: str | None):
        import boto3

        if isinstance(aws, str):
            endpoint_url = endpoint_url or aws
            session = boto3.session.Session()
        elif aws is None:
            session = boto3.session.Session()
        else:
            session = aws
        self.session = session
        self.endpoint_url = endpoint_url
        self.region = region or session.region_name or "us-east-1"
        self._lock = threading.Lock()
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str):
        with self._lock:
            c = self._cache.get(service)
            if c is None:
                from botocore.config import Config

                kw: dict[str, Any] = {"region_name": self.region,
                                      "config": Config(retries={"mode": "standard",
                                                                "max_attempts": 3},
                                                       max_pool_connections=20)}
                if self.endpoint_url:
                    # DynamoDB Streams needs it explicitly with moto 5 and botocore 1.44
                    kw["endpoint_url"] = self.endpoint_url
                    if self.session.get_credentials() is None:
                        kw["aws_access_key_id"] = "local"
                        kw["aws_secret_access_key"] = "local"
                c = self.session.client(service, **kw)
                self._cache[service] = c
            return c


# --------------------------------------------------------------------------- base

class _Poller:
    kind = "base"

    def __init__(self, mgr: "EventSourceManager", config: Any, handler: Callable):
        self.mgr = mgr
        self.config = config
        self.name: str = config.name
        self.handler = handler
        self.function_name = f"{mgr.app_name}-{mgr.stage}-{config.name}"
        self.function_arn = (f"arn:aws:lambda:{mgr.region}:{mgr.account_id}:function:"
                             f"{self.function_name}")
        self.thread: threading.Thread | None = None
        self.invocations = 0

    # one round of work; returns the number of records delivered to the handler
    def poll_once(self, wait: bool = False) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def idle_sleep(self) -> float:
        return self.mgr.poll_interval

    def invoke(self, event: dict) -> tuple[bool, Any, str | None]:
        """Run the handler; (ok, response, error class name)."""
        self.invocations += 1
        ctx = make_context(self.function_name, self.function_arn, self.mgr.memory_size,
                           self.mgr.timeout_seconds)
        try:
            return True, self.handler(event, ctx), None
        except Exception as exc:  # the handler's failure is data here
            log.warning("%s %s: handler raised %s (request %s)", self.kind, self.name,
                        type(exc).__name__, ctx.aws_request_id)
            log.debug("%s %s: handler traceback", self.kind, self.name, exc_info=True)
            return False, None, type(exc).__name__

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                n = self.poll_once(wait=True)
            except Exception as exc:  # never let a transient AWS error kill the thread
                log.warning("%s %s: poll failed: %s", self.kind, self.name, type(exc).__name__)
                log.debug("poll failure", exc_info=True)
                n = 0
                stop.wait(1.0)
            if n == 0:
                stop.wait(self.idle_sleep())


# --------------------------------------------------------------------------- DynamoDB streams

class _Shard:
    def __init__(self, shard_id: str, parent: str | None):
        self.shard_id = shard_id
        self.parent = parent
        self.iterator: str | None = None
        self.started = False
        self.closed = False          # no NextShardIterator any more
        self.buffer: list[dict] = []  # fetched, not yet checkpointed
        self.last_seq: str | None = None   # last record fetched (for re-reading)
        self.attempts = 0            # failed attempts of the batch at the head
        self.head_seq: str | None = None
        self.retry_at = 0.0
        self.window_start: float | None = None

    @property
    def done(self) -> bool:
        return self.closed and not self.buffer


class StreamPoller(_Poller):
    """One DynamoDB stream event source mapping: its own shard iterators and checkpoints."""

    kind = "dynamodb"

    def __init__(self, mgr: "EventSourceManager", config: Any, handler: Callable):
        super().__init__(mgr, config, handler)
        override = mgr.stream_table
        if isinstance(override, dict):
            override = override.get(config.name)
        self.table_name = override or table_name_from_stream_arn(config.stream_arn)
        self.batch_size = max(1, int(config.batch_size or 100))
        self.window = float(config.maximum_batching_window_in_seconds or 0)
        self.starting_position = (mgr.starting_position or config.starting_position
                                  or "LATEST").upper()
        self.stream_arn: str | None = None
        self.shards: dict[str, _Shard] = {}
        self._last_describe = 0.0
        self.failures_sent = 0

    def idle_sleep(self) -> float:
        return self.mgr.poll_interval if self.stream_arn else 1.0

    # -- setup
    def _streams(self):
        return self.mgr.clients("dynamodbstreams")

    def _resolve(self) -> bool:
        if self.stream_arn:
            return True
        ddb = self.mgr.clients("dynamodb")
        try:
            table = ddb.describe_table(TableName=self.table_name)["Table"]
        except ddb.exceptions.ResourceNotFoundException:
            log.debug("dynamodb %s: table not there yet", self.name)
            return False
        arn = table.get("LatestStreamArn")
        if not arn:
            log.debug("dynamodb %s: table has no stream yet", self.name)
            return False
        self.stream_arn = arn
        log.info("dynamodb %s: mapped to the stream of table %s (%s, batch %d, window %.1fs)",
                 self.name, self.table_name, self.starting_position, self.batch_size,
                 self.window)
        return True

    def _refresh_shards(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and self.shards and now - self._last_describe < 5.0:
            return
        self._last_describe = now
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            desc = self._streams().describe_stream(**kwargs)["StreamDescription"]
            for s in desc.get("Shards", []):
                if s["ShardId"] not in self.shards:
                    self.shards[s["ShardId"]] = _Shard(s["ShardId"], s.get("ParentShardId"))
            last = desc.get("LastEvaluatedShardId")
            if not last:
                break
            kwargs["ExclusiveStartShardId"] = last

    def _iterator(self, shard: _Shard) -> str | None:
        kw: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        if shard.last_seq is not None:
            kw.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=shard.last_seq)
        elif shard.parent is not None and shard.parent in self.shards:
            kw["ShardIteratorType"] = "TRIM_HORIZON"  # a child shard is read from its start
        else:
            kw["ShardIteratorType"] = ("TRIM_HORIZON" if self.starting_position == "TRIM_HORIZON"
                                       else "LATEST")
        return self._streams().get_shard_iterator(**kw).get("ShardIterator")

    def prime(self) -> bool:
        """Resolve the stream and take the initial iterators (anchors LATEST)."""
        if not self._resolve():
            return False
        self._refresh_shards()
        for shard in self.shards.values():
            if not shard.started:
                shard.iterator = self._iterator(shard)
                shard.started = True
        return True

    # -- reading
    def _fetch(self, shard: _Shard) -> int:
        if shard.closed or len(shard.buffer) >= self.batch_size:
            return 0
        if not shard.started:
            shard.iterator = self._iterator(shard)
            shard.started = True
        if shard.iterator is None:
            shard.closed = True
            return 0
        streams = self._streams()
        try:
            resp = streams.get_records(ShardIterator=shard.iterator, Limit=1000)
        except (streams.exceptions.ExpiredIteratorException,
                streams.exceptions.TrimmedDataAccessException):
            shard.iterator = self._iterator(shard)
            resp = streams.get_records(ShardIterator=shard.iterator, Limit=1000)
        records = resp.get("Records", [])
        shard.iterator = resp.get("NextShardIterator")
        if shard.iterator is None:
            shard.closed = True
        for r in records:
            shard.buffer.append(self._lambda_record(r))
        if records:
            shard.last_seq = records[-1]["dynamodb"]["SequenceNumber"]
        return len(records)

    def _lambda_record(self, r: dict) -> dict:
        d = r.get("dynamodb", {})
        out_d: dict[str, Any] = {
            "ApproximateCreationDateTime": int(_epoch(d.get("ApproximateCreationDateTime"))),
        }
        for k in ("Keys", "NewImage", "OldImage"):
            if k in d:
                out_d[k] = _ddb_json(d[k])
        out_d["SequenceNumber"] = d["SequenceNumber"]
        out_d["SizeBytes"] = d.get("SizeBytes", 0)
        out_d["StreamViewType"] = d.get("StreamViewType", "NEW_AND_OLD_IMAGES")
        rec = {
            "eventID": r.get("eventID") or uuid.uuid4().hex,
            "eventName": r["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": r.get("awsRegion") or self.mgr.region,
            "dynamodb": out_d,
            "eventSourceARN": self.stream_arn,
        }
        if "userIdentity" in r:  # TTL deletions
            rec["userIdentity"] = r["userIdentity"]
        return rec

    def _ordered_shards(self) -> list[_Shard]:
        # a child shard waits until its parent is fully processed (per-key order)
        out = []
        for s in self.shards.values():
            parent = self.shards.get(s.parent) if s.parent else None
            if parent is not None and not parent.done:
                continue
            out.append(s)
        return out

    def poll_once(self, wait: bool = False) -> int:
        if not self.prime():
            return 0
        self._refresh_shards()
        delivered = 0
        for shard in self._ordered_shards():
            if shard.done:
                continue
            if wait and time.monotonic() < shard.retry_at:
                continue
            self._fetch(shard)
            if not shard.buffer:
                shard.window_start = None
                continue
            if wait and self.window > 0 and len(shard.buffer) < self.batch_size:
                # batching window: wait (across rounds) for the batch to fill
                if shard.window_start is None:
                    shard.window_start = time.monotonic()
                if time.monotonic() - shard.window_start < self.window and not shard.closed:
                    continue
            shard.window_start = None
            delivered += self._deliver(shard, wait)
        return delivered

    def pending(self) -> int:
        return sum(len(s.buffer) for s in self.shards.values())

    def _deliver(self, shard: _Shard, wait: bool) -> int:
        batch = shard.buffer[: self.batch_size]
        seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
        if shard.head_seq != seqs[0]:
            shard.head_seq, shard.attempts = seqs[0], 0
        ok, response, error = self.invoke({"Records": batch})
        if ok:
            failed = parse_batch_item_failures(response, seqs) \
                if self.mgr.report_batch_item_failures else set()
        else:
            failed = WHOLE_BATCH
        if failed is not WHOLE_BATCH and not failed:
            del shard.buffer[: len(batch)]
            shard.head_seq, shard.attempts = None, 0
            log.info("dynamodb %s: %s delivered %d record(s) %s..%s", self.name,
                     shard.shard_id, len(batch), seqs[0], seqs[-1])
            return len(batch)

        if failed is WHOLE_BATCH:
            first = 0
        else:
            # checkpoint before the lowest failed sequence number
            first = min(seqs.index(f) for f in failed)
        if first > 0:
            del shard.buffer[:first]
            shard.head_seq, shard.attempts = seqs[first], 1
            log.info("dynamodb %s: %s partial failure, checkpoint before %s "
                     "(%d record(s) done, %d to redeliver)", self.name, shard.shard_id,
                     seqs[first], first, len(batch) - first)
        else:
            shard.attempts += 1
            log.info("dynamodb %s: %s batch %s..%s failed (attempt %d of %d)", self.name,
                     shard.shard_id, seqs[0], seqs[-1], shard.attempts,
                     self.mgr.max_retries + 1)
        if shard.attempts > self.mgr.max_retries:
            retry_batch = batch[first:]  # what was just attempted, from the checkpoint
            self._send_failure(shard, retry_batch, error, shard.attempts)
            del shard.buffer[: len(retry_batch)]
            shard.head_seq, shard.attempts = None, 0
        elif wait:
            shard.retry_at = time.monotonic() + self.mgr.retry_delay
        return len(batch)

    def _send_failure(self, shard: _Shard, batch: list[dict], error: str | None,
                      attempts: int) -> None:
        times = [r["dynamodb"]["ApproximateCreationDateTime"] for r in batch]
        start, end = (batch[0]["dynamodb"]["SequenceNumber"],
                      batch[-1]["dynamodb"]["SequenceNumber"])
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if error is not None:
            response_context["functionError"] = "Unhandled"
        record = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": _utc_iso(),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": start,
                "endSequenceNumber": end,
                "approximateArrivalOfFirstRecord": _utc_iso(times[0], millis=False),
                "approximateArrivalOfLastRecord": _utc_iso(times[-1], millis=False),
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }
        self.failures_sent += 1
        sent = self.mgr.send_failure_record(record)
        log.error("dynamodb %s: %s retries exhausted for %d record(s) %s..%s; %s; moving on",
                  self.name, shard.shard_id, len(batch), start, end,
                  f"failure record sent to {self.mgr.failure_queue}" if sent
                  else "failure record NOT sent (no failure queue)")


def table_name_from_stream_arn(arn: str) -> str:
    """arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL -> NAME"""
    m = re.match(r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/([^/]+)(/|$)", arn or "")
    if not m:
        raise ValueError(f"not a DynamoDB stream ARN: {arn!r}")
    return m.group(1)


# --------------------------------------------------------------------------- SQS

class SQSPoller(_Poller):
    """One SQS event source mapping."""

    kind = "sqs"

    def __init__(self, mgr: "EventSourceManager", config: Any, handler: Callable):
        super().__init__(mgr, config, handler)
        self.queue_name = config.queue or config.queue_arn.rsplit(":", 1)[-1]
        self.batch_size = max(1, int(config.batch_size or 10))
        self.window = float(config.maximum_batching_window_in_seconds or 0)
        self.queue_url: str | None = None
        self.queue_arn: str | None = None

    def idle_sleep(self) -> float:
        return 0.0 if self.queue_url else 1.0  # receive already long-polls

    def _resolve(self) -> bool:
        if self.queue_url:
            return True
        sqs = self.mgr.clients("sqs")
        try:
            url = sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
        except sqs.exceptions.QueueDoesNotExist:
            return False
        self.queue_arn = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.queue_url = url
        log.info("sqs %s: mapped to queue %s (batch %d)", self.name, self.queue_name,
                 self.batch_size)
        return True

    def _receive(self, wait: bool) -> list[dict]:
        sqs = self.mgr.clients("sqs")
        messages: list[dict] = []
        deadline = time.monotonic() + (self.window if wait else 0)
        while len(messages) < self.batch_size:
            resp = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(MAX_SQS_RECEIVE, self.batch_size - len(messages)),
                WaitTimeSeconds=self.mgr.sqs_wait_seconds if (wait and not messages) else 0,
                AttributeNames=["All"], MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"])
            got = resp.get("Messages", [])
            seen = {m["MessageId"]: i for i, m in enumerate(messages)}
            again = False
            for m in got:
                if m["MessageId"] in seen:  # visible again already (visibility 0)
                    messages[seen[m["MessageId"]]] = m  # keep the newest receipt handle
                    again = True
                else:
                    seen[m["MessageId"]] = len(messages)
                    messages.append(m)
            if again:
                break
            if not got and (not wait or time.monotonic() >= deadline or self.mgr.stopping):
                break
            if not got:
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        return messages

    def _lambda_record(self, m: dict) -> dict:
        attrs = dict(m.get("Attributes", {}))
        mattrs = {}
        for k, v in (m.get("MessageAttributes") or {}).items():
            a: dict[str, Any] = {"stringListValues": [], "binaryListValues": [],
                                 "dataType": v.get("DataType")}
            if "StringValue" in v:
                a["stringValue"] = v["StringValue"]
            if "BinaryValue" in v:
                a["binaryValue"] = base64.b64encode(v["BinaryValue"]).decode("ascii")
            mattrs[k] = a
        rec = {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m.get("Body", ""),
            "attributes": attrs,
            "messageAttributes": mattrs,
            "md5OfBody": m.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.mgr.region,
        }
        if m.get("MD5OfMessageAttributes"):
            rec["md5OfMessageAttributes"] = m["MD5OfMessageAttributes"]
        return rec

    def poll_once(self, wait: bool = False) -> int:
        if not self._resolve():
            return 0
        messages = self._receive(wait)
        if not messages:
            return 0
        records = [self._lambda_record(m) for m in messages]
        ids = [r["messageId"] for r in records]
        ok, response, _ = self.invoke({"Records": records})
        if ok:
            failed = parse_batch_item_failures(response, ids) \
                if self.mgr.report_batch_item_failures else set()
        else:
            failed = WHOLE_BATCH
        if failed is WHOLE_BATCH:
            done: list[dict] = []
        else:
            done = [r for r in records if r["messageId"] not in failed]
        if done:
            sqs = self.mgr.clients("sqs")
            for i in range(0, len(done), 10):
                chunk = done[i:i + 10]
                sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": str(n), "ReceiptHandle": r["receiptHandle"]}
                    for n, r in enumerate(chunk)])
        n_failed = len(records) - len(done)
        log.info("sqs %s: %d message(s) received, %d deleted, %d left for redelivery%s",
                 self.name, len(records), len(done), n_failed,
                 (" (" + ", ".join(r["messageId"] for r in records
                                   if r not in done) + ")") if n_failed else "")
        return len(records)


# --------------------------------------------------------------------------- S3

class S3Poller(_Poller):
    """S3 -> Lambda notifications, carried by an internal SQS queue inside moto.

    The bucket gets a QueueConfiguration (merged into its existing notification
    configuration) that sends the handler's events, filtered by prefix/suffix, to
    the queue `<internal_prefix>-s3-<handler name>`; moto server publishes S3
    notifications to SQS itself. Each notification is one asynchronous invocation:
    on failure it is retried `s3_max_retries` times, then dropped with a log line.
    """

    kind = "s3"
    _seq = itertools.count(1)

    def __init__(self, mgr: "EventSourceManager", config: Any, handler: Callable):
        super().__init__(mgr, config, handler)
        self.bucket = config.bucket
        self.events = list(config.events or ["s3:ObjectCreated:*"])
        self.prefix = config.prefix
        self.suffix = config.suffix
        safe = re.sub(r"[^A-Za-z0-9_-]", "-", config.name)
        self.queue_name = f"{mgr.internal_prefix}-s3-{safe}"[:80]
        self.config_id = f"{mgr.internal_prefix}-{safe}"
        self.queue_url: str | None = None
        self.ready = False
        self.dropped = 0

    def idle_sleep(self) -> float:
        return 0.0 if self.ready else 1.0

    def setup(self) -> bool:
        if self.ready:
            return True
        s3 = self.mgr.clients("s3")
        sqs = self.mgr.clients("sqs")
        try:
            s3.head_bucket(Bucket=self.bucket)
        except Exception:
            log.debug("s3 %s: bucket not there yet", self.name)
            return False
        if self.queue_url is None:
            self.queue_url = sqs.create_queue(QueueName=self.queue_name,
                                              Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        entry: dict[str, Any] = {"Id": self.config_id, "QueueArn": queue_arn,
                                 "Events": self.events}
        rules = []
        if self.prefix:
            rules.append({"Name": "prefix", "Value": self.prefix})
        if self.suffix:
            rules.append({"Name": "suffix", "Value": self.suffix})
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        with self.mgr.s3_config_lock:  # read-modify-write of the bucket's notifications
            current = s3.get_bucket_notification_configuration(Bucket=self.bucket)
            current.pop("ResponseMetadata", None)
            queues = [q for q in current.get("QueueConfigurations", [])
                      if q.get("Id") != self.config_id]
            queues.append(entry)
            current["QueueConfigurations"] = queues
            s3.put_bucket_notification_configuration(Bucket=self.bucket,
                                                     NotificationConfiguration=current)
        self.ready = True
        log.info("s3 %s: bucket %s notifies internal queue %s", self.name, self.bucket,
                 self.queue_name)
        return True

    def _lambda_record(self, r: dict) -> dict:
        s3 = r.get("s3", {})
        obj = dict(s3.get("object", {}))
        key = unquote_plus(obj.get("key", ""))
        obj["key"] = s3_key_encode(key)
        obj["eTag"] = str(obj.get("eTag", "")).strip('"')
        obj.setdefault("size", 0)
        obj["sequencer"] = f"{time.time_ns():X}{next(self._seq):06X}"
        bucket = dict(s3.get("bucket", {}))
        bucket.setdefault("name", self.bucket)
        bucket.setdefault("arn", f"arn:aws:s3:::{self.bucket}")
        bucket["ownerIdentity"] = {"principalId": "LOCAL"}
        return {
            "eventVersion": r.get("eventVersion", "2.1"),
            "eventSource": "aws:s3",
            "awsRegion": r.get("awsRegion") or self.mgr.region,
            "eventTime": r.get("eventTime") or _utc_iso(),
            "eventName": r.get("eventName", "ObjectCreated:Put"),
            "userIdentity": {"principalId": "AWS:LOCAL"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                                 "x-amz-id-2": uuid.uuid4().hex},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": self.config_id,
                   "bucket": bucket, "object": obj},
        }

    def poll_once(self, wait: bool = False) -> int:
        with self.mgr.s3_setup_lock:
            if not self.setup():
                return 0
        sqs = self.mgr.clients("sqs")
        resp = sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=MAX_SQS_RECEIVE,
            WaitTimeSeconds=self.mgr.sqs_wait_seconds if wait else 0,
            AttributeNames=["ApproximateReceiveCount"],
            MessageSystemAttributeNames=["ApproximateReceiveCount"])
        delivered = 0
        for m in resp.get("Messages", []):
            try:
                body = json.loads(m.get("Body") or "{}")
            except ValueError:
                body = {}
            records = body.get("Records") if isinstance(body, dict) else None
            if not records:  # s3:TestEvent and anything else that is not an event
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
                continue
            attempt = int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            event = {"Records": [self._lambda_record(r) for r in records]}
            ok, _, _ = self.invoke(event)
            delivered += len(records)
            seq = event["Records"][0]["s3"]["object"]["sequencer"]
            if ok:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
                log.info("s3 %s: delivered 1 event (bucket %s, sequencer %s, attempt %d)",
                         self.name, self.bucket, seq, attempt)
            elif attempt > self.mgr.s3_max_retries:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
                self.dropped += 1
                log.error("s3 %s: giving up on an event of bucket %s after %d attempts "
                          "(message %s)", self.name, self.bucket, attempt, m["MessageId"])
            else:
                delay = int(self.mgr.s3_retry_delay) if wait else 0
                sqs.change_message_visibility(QueueUrl=self.queue_url,
                                              ReceiptHandle=m["ReceiptHandle"],
                                              VisibilityTimeout=delay)
                log.info("s3 %s: event failed (attempt %d of %d), retry in %ds", self.name,
                         attempt, self.mgr.s3_max_retries + 1, delay)
        return delivered


# --------------------------------------------------------------------------- manager

class EventSourceManager:
    """Runs a Chalice app's DynamoDB stream, SQS and S3 handlers against an embedded AWS.

    app_module:   the module that defines `app` (a chalice.Chalice), or its import name;
                  handlers are looked up as attributes of this module by handler_string.
    aws:          the endpoint URL of the embedded AWS ("http://127.0.0.1:5000"), or a
                  boto3 Session (then give endpoint_url too, for moto), or None
                  (= settings.aws_endpoint, i.e. KYC_AWS_ENDPOINT).
    region:       region of the clients and of the event records.
    stage:        used in function names/ARNs ("{app_name}-{stage}-{handler name}").
    failure_queue: name of the SQS queue that gets stream on-failure records;
                  None = chalicelib.config.settings().failure_queue_name; "" = none.
    max_retries:  MaximumRetryAttempts of each stream mapping (default 3).
    stream_table: the table whose stream the stream handlers read, instead of the name
                  in their stream_arn: one name for all, or {handler name: table}.
    settings:     a chalicelib.config.Settings; fills stage, region, failure_queue and
                  the endpoint when those are not given (default: settings() from env).
    See docs/local.md ("Event sources") for the other knobs.
    """

    def __init__(self, app_module: ModuleType | str, aws: Any = None,
                 region: str | None = None, *, endpoint_url: str | None = None,
                 stage: str | None = None, failure_queue: str | None = None,
                 max_retries: int = DEFAULT_MAX_RETRIES,
                 report_batch_item_failures: bool = True,
                 starting_position: str | None = None,
                 poll_interval: float = 0.25, retry_delay: float = 1.0,
                 sqs_wait_seconds: int = 1,
                 s3_max_retries: int = DEFAULT_S3_MAX_RETRIES, s3_retry_delay: float = 1.0,
                 memory_size: int = 128, timeout_seconds: float = 60.0,
                 account_id: str = "123456789012",
                 internal_prefix: str = "kyc-local",
                 handlers: Iterable[str] | None = None,
                 stream_table: str | dict[str, str] | None = None,
                 settings: Any = None):
        if isinstance(app_module, str):
            app_module = importlib.import_module(app_module)
        self.app_module = app_module
        self.app = getattr(app_module, "app")
        self.app_name = getattr(self.app, "app_name", "app")
        if settings is None and (stage is None or failure_queue is None or region is None
                                 or (aws is None and endpoint_url is None)):
            from chalicelib.config import settings as _settings

            settings = _settings()
        if settings is not None:
            stage = stage if stage is not None else settings.stage
            failure_queue = (failure_queue if failure_queue is not None
                             else settings.failure_queue_name)
            region = region or settings.region
            if aws is None and endpoint_url is None:
                aws = settings.aws_endpoint
        self.stage = stage
        self.failure_queue = failure_queue or None
        self.clients = _Clients(aws, region, endpoint_url)
        self.region = self.clients.region
        self.max_retries = int(max_retries)
        self.report_batch_item_failures = report_batch_item_failures
        self.starting_position = starting_position
        self.poll_interval = poll_interval
        self.retry_delay = retry_delay
        self.sqs_wait_seconds = int(sqs_wait_seconds)
        self.s3_max_retries = int(s3_max_retries)
        self.s3_retry_delay = s3_retry_delay
        self.memory_size = memory_size
        self.timeout_seconds = timeout_seconds
        self.account_id = account_id
        self.internal_prefix = internal_prefix
        self.stream_table = stream_table
        self.s3_config_lock = threading.Lock()
        self.s3_setup_lock = threading.Lock()
        self._failure_url: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.pollers: list[_Poller] = self._discover(set(handlers) if handlers else None)

    # -- discovery
    def _discover(self, only: set[str] | None) -> list[_Poller]:
        from chalice.app import DynamoDBEventConfig, S3EventConfig, SQSEventConfig

        pollers: list[_Poller] = []
        for cfg in getattr(self.app, "event_sources", []):
            if only is not None and cfg.name not in only:
                continue
            kind = {DynamoDBEventConfig: StreamPoller, SQSEventConfig: SQSPoller,
                    S3EventConfig: S3Poller}.get(type(cfg))
            if kind is None:
                log.info("event source %s (%s) is not emulated locally", cfg.name,
                         type(cfg).__name__)
                continue
            attr = cfg.handler_string.rsplit(".", 1)[-1]
            handler = getattr(self.app_module, attr, None)
            if handler is None or not callable(handler):
                raise LookupError(f"handler {cfg.handler_string!r} not found in "
                                  f"{getattr(self.app_module, '__name__', self.app_module)}")
            pollers.append(kind(self, cfg, handler))
        return pollers

    def poller(self, name: str) -> _Poller:
        for p in self.pollers:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # -- failure destination
    def send_failure_record(self, record: dict) -> bool:
        if not self.failure_queue:
            return False
        sqs = self.clients("sqs")
        try:
            if self._failure_url is None:
                try:
                    self._failure_url = sqs.get_queue_url(
                        QueueName=self.failure_queue)["QueueUrl"]
                except sqs.exceptions.QueueDoesNotExist:
                    self._failure_url = sqs.create_queue(
                        QueueName=self.failure_queue)["QueueUrl"]
            sqs.send_message(QueueUrl=self._failure_url, MessageBody=json.dumps(record))
            return True
        except Exception as exc:
            log.error("could not send a failure record to %s: %s", self.failure_queue,
                      type(exc).__name__)
            return False

    # -- synchronous use (tests)
    def prime(self) -> None:
        """Take initial stream iterators now (LATEST starts here) and set up S3 queues."""
        self._check_not_running()
        for p in self.pollers:
            if isinstance(p, StreamPoller):
                p.prime()
            elif isinstance(p, S3Poller):
                with self.s3_setup_lock:
                    p.setup()

    def poll_once(self) -> int:
        """One round over every poller, without waiting; returns records delivered."""
        self._check_not_running()
        return sum(p.poll_once(wait=False) for p in self.pollers)

    def drain(self, max_rounds: int = 200) -> int:
        """Poll until a round delivers nothing (retries included); returns records delivered."""
        total = 0
        for _ in range(max_rounds):
            n = self.poll_once()
            total += n
            if n == 0:
                return total
        log.warning("drain: still delivering after %d rounds", max_rounds)
        return total

    def _check_not_running(self) -> None:
        if self.running:
            raise RuntimeError("poll_once/drain/prime cannot run while the pollers run")

    # -- threads
    def start(self) -> "EventSourceManager":
        if self.running:
            return self
        self._stop.clear()
        self._threads = []
        for p in self.pollers:
            t = threading.Thread(target=p.run, args=(self._stop,), daemon=True,
                                 name=f"poller-{p.kind}-{p.name}")
            p.thread = t
            self._threads.append(t)
            t.start()
        log.info("event sources: %d poller(s) started (%s)", len(self.pollers),
                 ", ".join(f"{p.kind}:{p.name}" for p in self.pollers) or "none")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Signal every poller and wait for it; a handler already running finishes first."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("event sources: %d poller(s) still busy at shutdown: %s",
                        len(alive), ", ".join(alive))
        else:
            log.info("event sources: stopped")

    def __enter__(self) -> "EventSourceManager":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
