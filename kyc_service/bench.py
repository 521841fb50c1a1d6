"""`make bench`: every benchmark, one `BENCH <name> <value> <unit>` line per figure,
and docs/performance.md rewritten with the figures, their goals and how each was measured.

Sections: verification (the verifier with fakes of the provider port of fixed
latency), the local stack end to end (self-hosted engines), the engines themselves
(kyc_service.bench_engines) and the deployment package (kyc_service.bench_deploy).
"""
from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

from kyc_service.localenv import ROOT

FACE_LATENCY_S, ID_LATENCY_S = 0.4, 1.2
GOALS = {
    "verify_one_vs_slowest": "<= 1.05 (seeds' sequential calls: 1.33)",
    "batch100_speedup_vs_sequential": ">= 8",
    "local_apps_per_min": ">= 60",
    "face_pair_s": "<= 0.6",
    "id_read_s": "<= 1.0",
    "real_core_acc": ">= 95 (Textract on the same cards: textract_core_acc)",
    "real_loso_core_acc": "shows what generalises",
    "real_photo_core_acc": ">= 90",
    "real_bogus_mrz": "0",
    "id_read_cpu_s": "<= 2.43 (the reader before issue 10, same cards, same way)",
    "id_read_cpu_max_s": "<= 4.04 (the reader before issue 10)",
    "deploy_zip_mb": "<= 5",
    "import_app_vs_bare": "<= 1.5",
}


class LatencyProvider:
    """A fake of the provider port that answers after fixed delays, like the real services."""
    name = "latency-fake"

    def compare_faces(self, source, target):
        from chalicelib.providers import FaceComparison
        time.sleep(FACE_LATENCY_S)
        return FaceComparison(99.0, 1, 1)

    def analyze_id(self, front, back=None):
        time.sleep(ID_LATENCY_S)

        def field(name, text, normalized=None):
            value = {"Text": text, "Confidence": 99.0}
            if normalized:
                value["NormalizedValue"] = {"Value": normalized + "T00:00:00", "ValueType": "Date"}
            return {"Type": {"Text": name}, "ValueDetection": value}

        return {"IdentityDocuments": [{"DocumentIndex": 1, "IdentityDocumentFields": [
            field("FIRST_NAME", "ADA"), field("LAST_NAME", "LOVELACE"), field("DOCUMENT_NUMBER", "D1234-5678"),
            field("DATE_OF_BIRTH", "04/20/1990", "1990-04-20"),
            field("EXPIRATION_DATE", "04/20/2035", "2035-04-20")]}]}


def _stream_records(n: int, prefix: str) -> list[dict]:
    """n saved submissions as the verifier receives them (Lambda stream records)."""
    import boto3

    from chalicelib.config import settings
    from chalicelib.models import tables
    from chalicelib.records import RecordStore
    from chalicelib.validation import parse_submission

    store = RecordStore(tables())
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    out = []
    for i in range(n):
        body = {"email": f"{prefix}{i}@bench.example.com", "first_name": "Ada", "last_name": "Lovelace",
                "date_of_birth": "1990-04-20", "id_type": "Driving license", "id_value": "D1234-5678",
                "document_links": [{"kind": "id_front", "key": "tenants/bench/f.png"},
                                   {"kind": "selfie", "key": "tenants/bench/s.png"}]}
        record, _, _ = store.save("bench", parse_submission(body, settings().stage, "bench", settings()))
        item = ddb.get_item(TableName=settings().table_name, ConsistentRead=True,
                            Key={"tenant#email": {"S": record.pk}, "id_type#id": {"S": record.sk}})["Item"]
        out.append({"eventName": "INSERT", "eventSource": "aws:dynamodb", "dynamodb": {
            "Keys": {"tenant#email": item["tenant#email"], "id_type#id": item["id_type#id"]},
            "NewImage": item, "SequenceNumber": f"{len(out) + 1:021d}"}})
    return out


def bench_verification() -> list[tuple[str, float, str]]:
    import boto3
    from moto import mock_aws

    from chalicelib import aws, verifier
    from kyc_service.resources import create_tables

    os.environ.update({"KYC_STAGE": "bench", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"})
    for key in ("KYC_AWS_ENDPOINT", "KYC_VERIFY_CONCURRENCY"):
        os.environ.pop(key, None)
    aws.reset_clients()
    fake = LatencyProvider()
    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name="us-east-1"), "bench")
        singles = []
        for raw in _stream_records(5, "one"):
            started = time.perf_counter()
            assert verifier.handle_batch([raw], provider_factory=lambda: fake) == {"batchItemFailures": []}
            singles.append(time.perf_counter() - started)
        one = statistics.median(singles) / max(FACE_LATENCY_S, ID_LATENCY_S)

        concurrent_batch = _stream_records(100, "conc")
        started = time.perf_counter()
        verifier.handle_batch(concurrent_batch, provider_factory=lambda: fake)
        concurrent = time.perf_counter() - started

        sequential_batch = _stream_records(100, "seq")
        os.environ["KYC_VERIFY_CONCURRENCY"] = "1"
        started = time.perf_counter()
        verifier.handle_batch(sequential_batch, provider_factory=lambda: fake)
        sequential = time.perf_counter() - started
        os.environ.pop("KYC_VERIFY_CONCURRENCY")
    return [("verify_one_vs_slowest", round(one, 3), "ratio"),
            ("batch100_speedup_vs_sequential", round(sequential / concurrent, 2), "x"),
            ("batch100_concurrent_s", round(concurrent, 2), "s"),
            ("batch100_sequential_s", round(sequential, 2), "s")]


def bench_local_stack(applications: int = 30) -> list[tuple[str, float, str]]:
    """Applications decided per minute, end to end over HTTP, self-hosted engines."""
    from concurrent.futures import ThreadPoolExecutor

    from kyc_service.demo import Api, application
    from kyc_service.process import StackProcess
    from kyc_service.tokens import issue_token

    stack = StackProcess()
    try:
        prepared = []
        for i in range(applications):
            email = f"bench{i}@example.com"
            api = Api(stack.api, "local", "bench", issue_token("bench", email, aws_port=stack.aws_port))
            prepared.append((api, email, application("genuine", seed=100 + i)))

        def submit(item):
            api, email, (body, images) = item
            links = [{"kind": k, "key": api.upload(k, png)} for k, png in images.items()]
            api.save(dict(body, email=email, document_links=links))

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(submit, prepared))
        pending = {email: api for api, email, _ in prepared}
        statuses = {}
        while pending and time.perf_counter() - started < 600:
            time.sleep(0.5)
            for email, api in list(pending.items()):
                status = api.records(email)[0]["validation_status"]
                if status != "pending":
                    statuses[email] = status
                    del pending[email]
        elapsed = time.perf_counter() - started
    finally:
        stack.stop()
    decided = len(statuses)
    return [("local_apps_per_min", round(decided / elapsed * 60, 1), "apps/min"),
            ("local_apps_verified", sum(s == "verified" for s in statuses.values()), f"of {applications}")]


def _module_run(name: str) -> Callable[[], list]:
    def run():
        return importlib.import_module(name).run()
    return run


SECTIONS = [
    ("Verification pipeline (fakes of the provider port: face 0.4 s, ID 1.2 s)", bench_verification),
    ("Local stack end to end (HTTP, embedded AWS, self-hosted engines)", bench_local_stack),
    ("Self-hosted engines", _module_run("kyc_service.bench_engines")),
    ("Deployment package", _module_run("kyc_service.bench_deploy")),
]


RESULTS = ROOT / "docs" / "performance.json"


def write_report(results: list[tuple[str, list, str | None]]) -> Path:
    """Merge this run's sections into docs/performance.json and render docs/performance.md.

    Sections not run this time keep their last figures (with the date they were measured).
    """
    import json

    now = f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for title, figures, error in results:
        stored[title] = {"figures": [list(f) for f in figures], "error": error, "measured": now,
                         "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    RESULTS.write_text(json.dumps(stored, indent=1) + "\n")
    lines = ["# Performance", "", "Written by `make bench` (`make bench SECTIONS=word` runs the sections whose "
             "title has that word; the others keep their last figures). One run on the machine named per section.", ""]
    for title, _ in SECTIONS:
        if title not in stored:
            continue
        entry = stored[title]
        lines += [f"## {title}", "", f"Measured {entry['measured']} on {entry['machine']}.", "",
                  "| figure | value | unit | goal |", "| --- | --- | --- | --- |"]
        lines += [f"| `{n}` | {v} | {u} | {GOALS.get(n, '')} |" for n, v, u in entry["figures"]]
        if entry["error"]:
            lines += ["", f"Not measured: {entry['error']}"]
        lines.append("")
    lines += ["## How each figure is measured", "",
              "- `verify_one_vs_slowest`: median wall time of the verifier handling one stream record "
              "(read, both provider calls, conditional write on in-process moto) divided by the slower call (1.2 s).",
              "- `batch100_speedup_vs_sequential`: one 100-record batch at the default concurrency "
              "(KYC_VERIFY_CONCURRENCY, 10) against the same batch with concurrency 1.",
              "- `local_apps_per_min`: `python -m kyc_service run` in a subprocess; 30 applications with generated "
              "licences and sample faces submitted over HTTP (uploads included, 4 client threads); applications "
              "decided per minute from the first request to the last decision.",
              "- Why `local_apps_per_min` stays near 40 on 2 cores: an application costs about 1.8 s of CPU "
              "(ID read 1.5 s, of which onnxruntime's inference already uses both cores; face match 0.3 s), and "
              "measured together in two threads a face match and an ID read take as long as one after the other "
              "(4.04 s against 4.16 s for four of each). Decisions arrive one every ~1.3 s. Raising the verifier's "
              "concurrency from 2 to 4 changed nothing (41.5 against 40.6), nor did larger OCR batches. "
              "Reaching 60 needs less OCR work per document (e.g. reading only the regions the layout needs) "
              "or more cores.",
              "- `real_*`: the blind ID reader on the real specimen cards of ../shared/fixtures/ids (us-licences and "
              "other), the five core fields scored as ids/README.md says; `textract_core_acc`: Amazon Textract's recorded "
              "AnalyzeID readings of the same cards, same rule; `real_loso_core_acc`: each card read without its own "
              "state's number format; `real_photo_core_acc`: the same cards photographed in software "
              "(`docgen.photograph_settings`); `real_bogus_mrz`: cards on which a machine-readable zone was reported.",
              "- `id_read_cpu_s` / `id_read_cpu_max_s`: process CPU seconds (onnxruntime's threads counted) per "
              "`analyze()` of each real card, models warm, mean and maximum. Before issue 10 the reader cost 2.43 / 4.04 s "
              "on the same cards measured the same way.",
              "- Engines and deployment figures: see `kyc_service/bench_engines.py`, `kyc_service/bench_deploy.py`, "
              "docs/engines.md and docs/deploy.md.", ""]
    path = ROOT / "docs" / "performance.md"
    path.write_text("\n".join(lines))
    return path


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # figures, not per-record log lines
    only = set(argv if argv is not None else sys.argv[1:])
    results = []
    failed = False
    for title, run in SECTIONS:
        if only and not any(word.lower() in title.lower() for word in only):
            continue
        try:
            figures, error = run(), None
        except Exception as exc:  # report and go on with the other sections
            traceback.print_exc()
            figures, error, failed = [], f"{type(exc).__name__}: {exc}", True
        for name, value, unit in figures:
            print(f"BENCH {name} {value} {unit}", flush=True)
        results.append((title, figures, error))
    print(f"wrote {write_report(results)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
