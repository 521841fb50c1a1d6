"""The verification pipeline with fakes of the provider port of fixed latency (face 0.4 s,
ID 1.2 s): one record against its slower call, and a 100-record batch concurrent vs sequential."""

from __future__ import annotations

import os
import statistics
import time

FACE_LATENCY_S, ID_LATENCY_S = 0.4, 1.2


class LatencyProvider:
    """A fake of the provider port that answers after fixed delays, like the real services."""

    name = "latency-fake"

    def compare_faces(self, source, target):
        from chalicelib.providers.port import FaceComparison

        time.sleep(FACE_LATENCY_S)
        return FaceComparison(99.0, 1, 1)

    def analyze_id(self, front, back=None, claim=None):
        time.sleep(ID_LATENCY_S)

        def field(name, text, normalized=None):
            value = {"Text": text, "Confidence": 99.0}
            if normalized:
                value["NormalizedValue"] = {"Value": normalized + "T00:00:00", "ValueType": "Date"}
            return {"Type": {"Text": name}, "ValueDetection": value}

        return {
            "IdentityDocuments": [
                {
                    "DocumentIndex": 1,
                    "IdentityDocumentFields": [
                        field("FIRST_NAME", "ADA"),
                        field("LAST_NAME", "LOVELACE"),
                        field("DOCUMENT_NUMBER", "D1234-5678"),
                        field("DATE_OF_BIRTH", "04/20/1990", "1990-04-20"),
                        field("EXPIRATION_DATE", "04/20/2035", "2035-04-20"),
                    ],
                }
            ]
        }


def _stream_records(n: int, prefix: str) -> list[dict]:
    """n saved submissions as the verifier receives them (Lambda stream records)."""
    import boto3

    from chalicelib.config import settings
    from chalicelib.http.validation import parse_submission
    from chalicelib.storage.models import tables
    from chalicelib.storage.records import RecordStore

    store = RecordStore(tables())
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    out = []
    for i in range(n):
        body = {
            "email": f"{prefix}{i}@bench.example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "date_of_birth": "1990-04-20",
            "id_type": "Driving license",
            "id_value": "D1234-5678",
            "document_links": [
                {"kind": "id_front", "key": "tenants/bench/f.png"},
                {"kind": "selfie", "key": "tenants/bench/s.png"},
            ],
        }
        record, _, _ = store.save("bench", parse_submission(body, settings().stage, "bench", settings()))
        item = ddb.get_item(
            TableName=settings().table_name,
            ConsistentRead=True,
            Key={"tenant#email": {"S": record.pk}, "id_type#id": {"S": record.sk}},
        )["Item"]
        out.append(
            {
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "dynamodb": {
                    "Keys": {"tenant#email": item["tenant#email"], "id_type#id": item["id_type#id"]},
                    "NewImage": item,
                    "SequenceNumber": f"{len(out) + 1:021d}",
                },
            }
        )
    return out


def run() -> list[tuple[str, float, str]]:
    import boto3
    from moto import mock_aws

    from chalicelib import aws, config
    from chalicelib.handlers import verifier
    from kyc_service.infra.template import create_tables

    os.environ.update(
        {
            "KYC_STAGE": "bench",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
    )
    for key in ("KYC_AWS_ENDPOINT", "KYC_VERIFY_CONCURRENCY"):
        os.environ.pop(key, None)
    aws.reset_clients()
    config.reset()
    fake = LatencyProvider()
    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name="us-east-1"), "bench")
        singles = []
        for raw in _stream_records(5, "one"):
            started = time.perf_counter()
            if verifier.handle_batch([raw], provider_factory=lambda: fake) != {"batchItemFailures": []}:
                raise RuntimeError("the verifier failed a record of the benchmark")
            singles.append(time.perf_counter() - started)
        one = statistics.median(singles) / max(FACE_LATENCY_S, ID_LATENCY_S)

        concurrent_batch = _stream_records(100, "conc")
        started = time.perf_counter()
        verifier.handle_batch(concurrent_batch, provider_factory=lambda: fake)
        concurrent = time.perf_counter() - started

        sequential_batch = _stream_records(100, "seq")
        os.environ["KYC_VERIFY_CONCURRENCY"] = "1"
        config.reset()
        started = time.perf_counter()
        verifier.handle_batch(sequential_batch, provider_factory=lambda: fake)
        sequential = time.perf_counter() - started
        os.environ.pop("KYC_VERIFY_CONCURRENCY")
        config.reset()
    return [
        ("verify_one_vs_slowest", round(one, 3), "ratio"),
        ("batch100_speedup_vs_sequential", round(sequential / concurrent, 2), "x"),
        ("batch100_concurrent_s", round(concurrent, 2), "s"),
        ("batch100_sequential_s", round(sequential, 2), "s"),
    ]
