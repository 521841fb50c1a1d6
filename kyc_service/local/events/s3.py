"""S3 -> Lambda notifications for the local stack, carried by an internal SQS queue inside moto."""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from kyc_service.local.events.lambda_events import s3_key_encode, utc_iso
from kyc_service.local.events.poller import Poller, log
from kyc_service.local.events.sqs import MAX_SQS_RECEIVE

if TYPE_CHECKING:
    from kyc_service.local.events.manager import EventSourceManager

INTERNAL_PREFIX = "kyc-local"  # names the internal queues and notification configurations


class S3Poller(Poller):
    """S3 -> Lambda notifications, carried by an internal SQS queue inside moto.

    The bucket gets a QueueConfiguration (merged into its existing notification
    configuration) that sends the handler's events, filtered by prefix/suffix, to
    the queue `kyc-local-s3-<handler name>`; moto server publishes S3
    notifications to SQS itself. Each notification is one asynchronous invocation:
    on failure it is retried `s3_max_retries` times, then dropped with a log line.
    """

    kind = "s3"
    _seq = itertools.count(1)

    def __init__(self, mgr: EventSourceManager, config: Any, handler: Callable[..., Any]):
        super().__init__(mgr, config, handler)
        self.bucket = config.bucket
        self.events = list(config.events or ["s3:ObjectCreated:*"])
        self.prefix = config.prefix
        self.suffix = config.suffix
        safe = re.sub(r"[^A-Za-z0-9_-]", "-", config.name)
        self.queue_name = f"{INTERNAL_PREFIX}-s3-{safe}"[:80]
        self.config_id = f"{INTERNAL_PREFIX}-{safe}"
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
        except Exception:  # noqa: BLE001 - not there yet (or moto not up): looked for again next poll
            log.debug("s3 %s: bucket not there yet", self.name)
            return False
        if self.queue_url is None:
            self.queue_url = sqs.create_queue(QueueName=self.queue_name, Attributes={"VisibilityTimeout": "900"})[
                "QueueUrl"
            ]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        entry: dict[str, Any] = {"Id": self.config_id, "QueueArn": queue_arn, "Events": self.events}
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
            queues = [q for q in current.get("QueueConfigurations", []) if q.get("Id") != self.config_id]
            queues.append(entry)
            current["QueueConfigurations"] = queues
            s3.put_bucket_notification_configuration(Bucket=self.bucket, NotificationConfiguration=current)
        self.ready = True
        log.info("s3 %s: bucket %s notifies internal queue %s", self.name, self.bucket, self.queue_name)
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
            "awsRegion": r.get("awsRegion") or self.mgr.options.region,
            "eventTime": r.get("eventTime") or utc_iso(),
            "eventName": r.get("eventName", "ObjectCreated:Put"),
            "userIdentity": {"principalId": "AWS:LOCAL"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper(), "x-amz-id-2": uuid.uuid4().hex},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": self.config_id, "bucket": bucket, "object": obj},
        }

    def poll_once(self, wait: bool = False) -> int:
        with self.mgr.s3_setup_lock:
            if not self.setup():
                return 0
        sqs = self.mgr.clients("sqs")
        resp = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=MAX_SQS_RECEIVE,
            WaitTimeSeconds=self.mgr.options.sqs_wait_seconds if wait else 0,
            AttributeNames=["ApproximateReceiveCount"],
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
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
                log.info(
                    "s3 %s: delivered 1 event (bucket %s, sequencer %s, attempt %d)",
                    self.name,
                    self.bucket,
                    seq,
                    attempt,
                )
            elif attempt > self.mgr.options.s3_max_retries:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
                self.dropped += 1
                log.error(
                    "s3 %s: giving up on an event of bucket %s after %d attempts (message %s)",
                    self.name,
                    self.bucket,
                    attempt,
                    m["MessageId"],
                )
            else:
                delay = int(self.mgr.options.retry_delay) if wait else 0
                sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=delay
                )
                log.info(
                    "s3 %s: event failed (attempt %d of %d), retry in %ds",
                    self.name,
                    attempt,
                    self.mgr.options.s3_max_retries + 1,
                    delay,
                )
        return delivered
