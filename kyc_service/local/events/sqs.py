"""SQS event source mappings: batches received (long polling), deleted when handled, left for
redelivery when reported as failed."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kyc_service.local.events.lambda_events import WHOLE_BATCH, parse_batch_item_failures
from kyc_service.local.events.poller import Poller, log

if TYPE_CHECKING:
    from kyc_service.local.events.manager import EventSourceManager

MAX_SQS_RECEIVE = 10  # SQS ReceiveMessage limit per call


class SQSPoller(Poller):
    """One SQS event source mapping."""

    kind = "sqs"

    def __init__(self, mgr: EventSourceManager, config: Any, handler: Callable[..., Any]):
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
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.queue_url = url
        log.info("sqs %s: mapped to queue %s (batch %d)", self.name, self.queue_name, self.batch_size)
        return True

    def _receive(self, wait: bool) -> list[dict]:
        sqs = self.mgr.clients("sqs")
        messages: list[dict] = []
        deadline = time.monotonic() + (self.window if wait else 0)
        while len(messages) < self.batch_size:
            resp = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(MAX_SQS_RECEIVE, self.batch_size - len(messages)),
                WaitTimeSeconds=self.mgr.options.sqs_wait_seconds if (wait and not messages) else 0,
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
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
            a: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": v.get("DataType")}
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
            "awsRegion": self.mgr.options.region,
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
        failed = parse_batch_item_failures(response, ids) if ok else WHOLE_BATCH
        if failed is WHOLE_BATCH:
            done: list[dict] = []
        else:
            done = [r for r in records if r["messageId"] not in failed]
        if done:
            sqs = self.mgr.clients("sqs")
            for i in range(0, len(done), 10):
                chunk = done[i : i + 10]
                sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(n), "ReceiptHandle": r["receiptHandle"]} for n, r in enumerate(chunk)],
                )
        n_failed = len(records) - len(done)
        log.info(
            "sqs %s: %d message(s) received, %d deleted, %d left for redelivery%s",
            self.name,
            len(records),
            len(done),
            n_failed,
            (" (" + ", ".join(r["messageId"] for r in records if r not in done) + ")") if n_failed else "",
        )
        return len(records)
