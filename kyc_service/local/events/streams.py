"""DynamoDB stream event source mappings: one poller per stream handler, with its own shard
iterators and checkpoints, partial batch failures, bounded retries and an on-failure destination."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kyc_service.local.events.lambda_events import WHOLE_BATCH, ddb_json, epoch, parse_batch_item_failures, utc_iso
from kyc_service.local.events.poller import Poller, log

if TYPE_CHECKING:
    from kyc_service.local.events.manager import EventSourceManager


class _Shard:
    def __init__(self, shard_id: str, parent: str | None):
        self.shard_id = shard_id
        self.parent = parent
        self.iterator: str | None = None
        self.started = False
        self.closed = False  # no NextShardIterator any more
        self.buffer: list[dict] = []  # fetched, not yet checkpointed
        self.last_seq: str | None = None  # last record fetched (for re-reading)
        self.attempts = 0  # failed attempts of the batch at the head
        self.head_seq: str | None = None
        self.retry_at = 0.0
        self.window_start: float | None = None

    @property
    def done(self) -> bool:
        return self.closed and not self.buffer


class StreamPoller(Poller):
    """One DynamoDB stream event source mapping: its own shard iterators and checkpoints."""

    kind = "dynamodb"

    def __init__(self, mgr: EventSourceManager, config: Any, handler: Callable[..., Any]):
        super().__init__(mgr, config, handler)
        override = mgr.options.stream_table
        if isinstance(override, dict):
            override = override.get(config.name)
        self.table_name = override or table_name_from_stream_arn(config.stream_arn)
        self.batch_size = max(1, int(config.batch_size or 100))
        self.window = float(config.maximum_batching_window_in_seconds or 0)
        self.starting_position = (mgr.options.starting_position or config.starting_position or "LATEST").upper()
        self.stream_arn: str | None = None
        self.shards: dict[str, _Shard] = {}
        self._last_describe = 0.0
        self.failures_sent = 0

    def idle_sleep(self) -> float:
        return self.mgr.options.poll_interval if self.stream_arn else 1.0

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
        log.info(
            "dynamodb %s: mapped to the stream of table %s (%s, batch %d, window %.1fs)",
            self.name,
            self.table_name,
            self.starting_position,
            self.batch_size,
            self.window,
        )
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
            kw["ShardIteratorType"] = "TRIM_HORIZON" if self.starting_position == "TRIM_HORIZON" else "LATEST"
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
        except (streams.exceptions.ExpiredIteratorException, streams.exceptions.TrimmedDataAccessException):
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
            "ApproximateCreationDateTime": int(epoch(d.get("ApproximateCreationDateTime"))),
        }
        for k in ("Keys", "NewImage", "OldImage"):
            if k in d:
                out_d[k] = ddb_json(d[k])
        out_d["SequenceNumber"] = d["SequenceNumber"]
        out_d["SizeBytes"] = d.get("SizeBytes", 0)
        out_d["StreamViewType"] = d.get("StreamViewType", "NEW_AND_OLD_IMAGES")
        rec = {
            "eventID": r.get("eventID") or uuid.uuid4().hex,
            "eventName": r["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": r.get("awsRegion") or self.mgr.options.region,
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
        failed = parse_batch_item_failures(response, seqs) if ok else WHOLE_BATCH
        if failed is not WHOLE_BATCH and not failed:
            del shard.buffer[: len(batch)]
            shard.head_seq, shard.attempts = None, 0
            log.info(
                "dynamodb %s: %s delivered %d record(s) %s..%s",
                self.name,
                shard.shard_id,
                len(batch),
                seqs[0],
                seqs[-1],
            )
            return len(batch)

        if failed is WHOLE_BATCH:
            first = 0
        else:
            # checkpoint before the lowest failed sequence number
            first = min(seqs.index(f) for f in failed)
        if first > 0:
            del shard.buffer[:first]
            shard.head_seq, shard.attempts = seqs[first], 1
            log.info(
                "dynamodb %s: %s partial failure, checkpoint before %s (%d record(s) done, %d to redeliver)",
                self.name,
                shard.shard_id,
                seqs[first],
                first,
                len(batch) - first,
            )
        else:
            shard.attempts += 1
            log.info(
                "dynamodb %s: %s batch %s..%s failed (attempt %d of %d)",
                self.name,
                shard.shard_id,
                seqs[0],
                seqs[-1],
                shard.attempts,
                self.mgr.options.max_retries + 1,
            )
        if shard.attempts > self.mgr.options.max_retries:
            retry_batch = batch[first:]  # what was just attempted, from the checkpoint
            self._send_failure(shard, retry_batch, error, shard.attempts)
            del shard.buffer[: len(retry_batch)]
            shard.head_seq, shard.attempts = None, 0
        elif wait:
            shard.retry_at = time.monotonic() + self.mgr.options.retry_delay
        return len(batch)

    def _send_failure(self, shard: _Shard, batch: list[dict], error: str | None, attempts: int) -> None:
        times = [r["dynamodb"]["ApproximateCreationDateTime"] for r in batch]
        start, end = (batch[0]["dynamodb"]["SequenceNumber"], batch[-1]["dynamodb"]["SequenceNumber"])
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
            "timestamp": utc_iso(),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": start,
                "endSequenceNumber": end,
                "approximateArrivalOfFirstRecord": utc_iso(times[0], millis=False),
                "approximateArrivalOfLastRecord": utc_iso(times[-1], millis=False),
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }
        self.failures_sent += 1
        sent = self.mgr.send_failure_record(record)
        log.error(
            "dynamodb %s: %s retries exhausted for %d record(s) %s..%s; %s; moving on",
            self.name,
            shard.shard_id,
            len(batch),
            start,
            end,
            f"failure record sent to {self.mgr.options.failure_queue}"
            if sent
            else "failure record NOT sent (no failure queue)",
        )


def table_name_from_stream_arn(arn: str) -> str:
    """arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL -> NAME"""
    m = re.match(r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/([^/]+)(/|$)", arn or "")
    if not m:
        raise ValueError(f"not a DynamoDB stream ARN: {arn!r}")
    return m.group(1)
