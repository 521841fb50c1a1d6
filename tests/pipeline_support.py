"""A whole stage on an in-process moto server: resources from the one definition,
the app's stream handlers driven by the local pollers, and a fake of the provider
port (the port is ours; fakes of it are not mocks of boto3)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

from chalicelib.providers.port import FaceComparison

REGION = "us-east-1"


def textract_fields(
    first="ASHISH", last="PALANKAR", dob="04/20/1990", number="D1234-5678", expiry="04/20/2031", **extra
) -> dict[str, Any]:
    """A response shaped like Textract AnalyzeID's."""

    def field(name, text, normalized=None):
        value = {"Text": text, "Confidence": 98.5}
        if normalized:
            value["NormalizedValue"] = {"Value": normalized, "ValueType": "Date"}
        return {"Type": {"Text": name}, "ValueDetection": value}

    def iso(us):
        m, d, y = us.split("/")
        return f"{y}-{m}-{d}T00:00:00"

    fields = [
        field("FIRST_NAME", first),
        field("LAST_NAME", last),
        field("DOCUMENT_NUMBER", number),
        field("DATE_OF_BIRTH", dob, iso(dob)),
        field("EXPIRATION_DATE", expiry, iso(expiry)),
        field("ID_TYPE", "DRIVER LICENSE FRONT"),
    ]
    fields += [field(k, v) for k, v in extra.items()]
    return {
        "IdentityDocuments": [{"DocumentIndex": 1, "IdentityDocumentFields": fields}],
        "DocumentMetadata": {"Pages": 1},
        "AnalyzeIDModelVersion": "1.0",
    }


def pinned_digest(key: str) -> str | None:
    """The SHA-256 an evidence key is named by (chalicelib.keys.evidence_key), else None."""
    if not key.startswith("evidence/"):
        return None
    return key.rsplit("/", 1)[-1].split(".", 1)[0]


@dataclass
class FakeProvider:
    """Answers per image key: the key the test linked (an upload, a bundle's copy), found again
    from the evidence the save pinned from it (the same bytes); raises what it is told to."""

    name: str = "fake"
    faces: dict[str, Any] = field(default_factory=dict)  # selfie key -> FaceComparison | Exception
    documents: dict[str, Any] = field(default_factory=dict)  # front key -> response | Exception
    calls: list[str] = field(default_factory=list)
    before_answer: Any = None  # a hook run inside compare_faces (races)
    read: list[str] = field(default_factory=list)  # the keys the verifier handed over

    @staticmethod
    def _digest(bucket: str, key: str) -> str | None:
        import hashlib

        from chalicelib.aws import client

        try:
            return hashlib.sha256(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()
        except Exception:  # the object is gone (expired, erased): no answer for it
            return None

    def _answer(self, table: dict[str, Any], ref, default):
        self.read.append(ref.key)
        if ref.key in table:
            return table[ref.key]
        digest = pinned_digest(ref.key)
        for key, answer in table.items():
            if digest is not None and self._digest(ref.bucket, key) == digest:
                return answer
        return default

    def compare_faces(self, source, target):
        self.calls.append("compare_faces")
        if self.before_answer:
            hook, self.before_answer = self.before_answer, None
            hook()
        answer = self._answer(self.faces, source, FaceComparison(99.0, 1, 1))
        if isinstance(answer, Exception):
            raise answer
        return answer

    def analyze_id(self, front, back=None, claim=None):
        self.calls.append("analyze_id")
        answer = self._answer(self.documents, front, textract_fields())
        if isinstance(answer, Exception):
            raise answer
        return answer


class Stage:
    """Handles on the running stage for tests."""

    def __init__(self, endpoint: str, outputs: dict[str, Any], manager):
        self.endpoint = endpoint
        self.outputs = outputs
        self.manager = manager
        kw = {"endpoint_url": endpoint, "region_name": REGION}
        self.s3, self.sqs, self.sns, self.ddb = (boto3.client(s, **kw) for s in ("s3", "sqs", "sns", "dynamodb"))
        self.inbox = self.sqs.create_queue(QueueName=f"inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(
            TopicArn=outputs["NotificationsTopicArn"],
            Protocol="sqs",
            Endpoint=arn,
            Attributes={"RawMessageDelivery": "false"},
        )

    def upload(self, tenant: str, kind: str, body: bytes | None = None) -> str:
        """An image-like object (new bytes every time, so every upload pins its own evidence)."""
        body = body if body is not None else b"\x89PNG\r\n\x1a\n" + uuid.uuid4().hex.encode() * 2
        key = f"tenants/{tenant}/uploads/{kind}/{uuid.uuid4().hex}.png"
        self.s3.put_object(Bucket=self.outputs["DocumentBucketName"], Key=key, Body=body, ContentType="image/png")
        return key

    def evidence_key(self, tenant: str, email: str, kind: str, key: str) -> str:
        """Where saving a link to `key` pins its bytes (chalicelib.keys.evidence_key)."""
        import hashlib

        from chalicelib.keys import evidence_key

        obj = self.s3.get_object(Bucket=self.outputs["DocumentBucketName"], Key=key)
        ext = {"image/png": ".png", "image/jpeg": ".jpg"}[obj["ContentType"]]
        return evidence_key(tenant, email, kind, hashlib.sha256(obj["Body"].read()).hexdigest(), ext)

    def notifications(self) -> list[dict[str, Any]]:
        out = []
        while True:
            msgs = self.sqs.receive_message(
                QueueUrl=self.inbox, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                envelope = json.loads(m["Body"])
                out.append(
                    {
                        "message": json.loads(envelope["Message"]),
                        "attributes": {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()},
                    }
                )
                self.sqs.delete_message(QueueUrl=self.inbox, ReceiptHandle=m["ReceiptHandle"])


class Validator:
    """A real HTTP licence validator on 127.0.0.1 with configurable answers."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status, self.answer = 200, None  # answer None: echo validation_override (the mock's rule)
        self.delay = 0.0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                outer.requests.append({"body": body, "authorization": self.headers.get("Authorization")})
                time.sleep(outer.delay)
                answer = (
                    outer.answer
                    if outer.answer is not None
                    else {"valid": body.get("validation_override") is not False}
                )
                data = json.dumps(answer if outer.status < 400 else {"error": "down"}).encode()
                try:
                    self.send_response(outer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout tests)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/validate"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self, status: int = 200, answer: dict | None = None, delay: float = 0.0):
        self.requests.clear()
        self.status, self.answer, self.delay = status, answer, delay
