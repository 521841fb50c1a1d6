"""`python -m kyc_service submit-bundle FILE.zip --tenant T`: drop a bundle into the running
local stack and follow it to its decision (docs/bundles.md).

The bundle goes to `zipped/{T}/{app_uuid}.zip` of the embedded S3 (app_uuid from the file
name); the record is followed in the stage's table through the embedded DynamoDB. A refused
bundle prints the rejection reason. Exit status: 0 decided, 2 refused, 3 timed out, 1 other.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalicelib import keys
from chalicelib.stage import resource_names
from kyc_service.local.env import embedded_client

UNCHANGED_AFTER = 6.0  # s: a final record not touched since the upload is an unchanged resubmission


def register(subparsers) -> None:
    p = subparsers.add_parser("submit-bundle", help="upload a KYC bundle zip and follow it to its decision")
    p.add_argument(
        "file",
        metavar="FILE.zip",
        help="{app_uuid}.zip holding {app_uuid}_details.csv, {app_uuid}_selfie.png and {app_uuid}_license.png",
    )
    p.add_argument("--tenant", required=True)
    p.add_argument("--aws-port", type=int, default=5000, help="embedded AWS port (default 5000)")
    p.add_argument("--stage", default="local")
    p.add_argument("--api-url", default="http://127.0.0.1:8000", help="shown in the hint at the end")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the decision")
    p.set_defaults(func=command)


def _clients(endpoint: str):
    return embedded_client("s3", endpoint), embedded_client("dynamodb", endpoint)


def record_email(data: bytes, app_uuid: str) -> str:
    """The record's e-mail part: the CSV's EMAIL (normalised) or the app_uuid (lower case)."""
    from chalicelib.bundles.archive import BundleRefused, read_zip
    from chalicelib.bundles.details import parse_details

    try:
        row = parse_details(read_zip(data, "t", app_uuid).members["details"].data)
    except BundleRefused:
        return app_uuid.lower()  # the service will refuse it; the rejection object says why
    email = (row.get("EMAIL") or "").strip()
    if not email:
        return app_uuid.lower()
    try:
        from chalicelib.http.validation import normalise_email

        return normalise_email(email)
    except Exception:  # noqa: BLE001 - an invalid e-mail: the service refuses the bundle, the follow shows why
        return email.lower()


def _records(ddb, table: str, tenant: str, email: str, app_uuid: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    try:
        items = ddb.query(
            TableName=table,
            KeyConditionExpression="#pk = :pk",
            ConsistentRead=True,
            ExpressionAttributeNames={"#pk": "tenant#email"},
            ExpressionAttributeValues={":pk": {"S": keys.record_pk(tenant, email)}},
        )["Items"]
    except ddb.exceptions.ResourceNotFoundException:
        return []
    out = [{k: des.deserialize(v) for k, v in item.items()} for item in items]
    return [r for r in out if r.get("app_uuid") == app_uuid]


def _rejection(s3, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        return None


def _phase(record: dict[str, Any] | None) -> str:
    if record is None:
        return "waiting for the bundle to be taken in"
    if record.get("verify"):
        return "record saved; automatic checks running"
    lv = (record.get("checks") or {}).get("license_validation") or {}
    if record.get("validation_status") == "pending":
        return "automatic checks done; waiting for the licence validator"
    if lv.get("status") == "pending":
        return f"{record.get('validation_status')}; licence check still running"
    return str(record.get("validation_status"))


def _final(record: dict[str, Any] | None) -> bool:
    if not record or record.get("verify") or record.get("validation_status") == "pending":
        return False
    lv = (record.get("checks") or {}).get("license_validation") or {}
    return lv.get("status") != "pending"


def follow(
    path: Path,
    tenant: str,
    endpoint: str,
    stage: str = "local",
    timeout: float = 180.0,
    on_wait: Callable[[], Any] | None = None,
    console=None,
    api_url: str = "http://127.0.0.1:8000",
) -> tuple[int, dict[str, Any]]:
    """Upload and follow; (exit status, result). `on_wait` runs between polls (tests drive pollers)."""
    from rich.console import Console

    console = console or Console()
    app_uuid = path.name[: -len(".zip")] if path.name.endswith(".zip") else ""
    if not keys.is_bundle_key(app_uuid):
        console.print(f"[red]the file must be named {{app_uuid}}.zip (letters, digits, '-', '_'), not {path.name}")
        return 1, {"status": "bad_name"}
    data = path.read_bytes()
    names = resource_names(stage)
    bucket, table = names.bucket, names.table
    key = keys.bundle_key(tenant, app_uuid)
    rejection_key = keys.rejection_key(key)
    email = record_email(data, app_uuid)
    s3, ddb = _clients(endpoint)
    s3.delete_object(Bucket=bucket, Key=rejection_key)  # a refusal of an earlier upload
    started = time.time()
    s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/zip")
    deadline = started + timeout
    result: dict[str, Any] = {"status": "timeout"}
    with console.status(f"uploaded s3://{bucket}/{key}") as status:
        while time.time() < deadline:
            if on_wait:
                on_wait()
            refused = _rejection(s3, bucket, rejection_key)
            if refused:
                result = refused
                break
            found = _records(ddb, table, tenant, email, app_uuid)
            record = found[0] if found else None
            status.update(f"{app_uuid}: {_phase(record)}  ({time.time() - started:.0f}s)")
            fresh = record and int(record.get("last_updated_time", 0)) >= int(started) - 1
            if _final(record) and (fresh or time.time() - started > UNCHANGED_AFTER):
                result = {"status": "decided", "record": record}
                break
            time.sleep(0.5)
    return _report(console, result, f"{api_url}/kyc/stage/{stage}/tenant/{tenant}/email/{email}", timeout)


def _report(console, result: dict[str, Any], record_url: str, timeout: float) -> tuple[int, dict]:
    from rich.table import Table

    if result["status"] == "refused":
        console.print(f"[bold red]refused[/]: {result.get('reason')} (code {result.get('code')})")
        return 2, result
    if result["status"] == "timeout":
        console.print(f"[yellow]no decision within {timeout:.0f}s[/] (is `python -m kyc_service run` up?)")
        return 3, result
    record = result["record"]
    colour = {"verified": "green", "rejected": "red"}.get(record["validation_status"], "yellow")
    console.print(f"[bold {colour}]{record['validation_status']}[/] (decided by {record.get('decided_by')})")
    table = Table("check", "passed", "detail")
    for name, check in sorted((record.get("checks") or {}).items()):
        check = check or {}
        detail = {k: v for k, v in check.items() if k not in ("passed", "fields")}
        table.add_row(name, str(check.get("passed")), json.dumps(detail, default=str)[:80])
    console.print(table)
    for reason in record.get("reasons") or []:
        console.print(f" - {reason}")
    console.print(f"the record: GET {record_url} (admin token: python -m kyc_service token --admin)")
    return 0, result


def command(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}")
        return 1
    endpoint = f"http://127.0.0.1:{args.aws_port}"
    code, _ = follow(path, args.tenant, endpoint, args.stage, args.timeout, api_url=args.api_url.rstrip("/"))
    return code
