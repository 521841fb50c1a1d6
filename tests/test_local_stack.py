"""The local stack as a user runs it: `python -m kyc_service run` in a subprocess on
free ports, driven over HTTP, checked through boto3 at the embedded endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import requests

from chalicelib.stage import ROOT
from kyc_service.local.process import StackProcess

REGION = "us-east-1"


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KYC_", "AWS_"))}
    return subprocess.run(
        [sys.executable, "-m", "kyc_service", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        **kw,
    )


@pytest.fixture(scope="module")
def running():
    pytest.importorskip(
        "kyc_service.engines.adapter",
        reason="self-hosted engines not installed "
        "(requirements-engines.txt); the local stack decides nothing without them",
    )
    stack = StackProcess()
    yield stack
    assert stack.stop() == 0, "".join(stack.output)
    assert "stopping..." in "".join(stack.output)


def test_concurrent_first_requests_all_succeed(running):
    """The first requests of a fresh stack arrive together (threaded server): none may fail."""
    from concurrent.futures import ThreadPoolExecutor

    token = cli("token", "--tenant", "acme", "--email", "first@example.com", "--aws-port", str(running.aws_port))
    headers = {"Authorization": f"Bearer {token.stdout.strip().splitlines()[-1]}"}

    def upload_request(_):
        return requests.post(
            f"{running.api}/kyc/stage/local/tenant/acme/documents",
            headers=headers,
            json={"content_type": "image/jpeg"},
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(upload_request, range(24))) == {201}


def test_banner_names_urls_resources_and_provider(running):
    text = "".join(running.output)
    for part in (
        running.api,
        running.aws,
        "local_kyc_service",
        "local-kyc-documents",
        "local-kyc-notifications",
        "local-license-queue",
        "self-hosted engines",
        "kyc_service token",
    ):
        assert part in text
    assert requests.get(f"{running.api}/health", timeout=5).json()["status"] == "ok"


def test_end_to_end_over_http(running):
    """token -> upload -> create_or_update -> decision, identity record, SNS message."""
    from kyc_service.commands.demo import Api, application

    sqs, sns = running.client("sqs"), running.client("sns")
    inbox = sqs.create_queue(QueueName="e2e-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("local-kyc-notifications")
    )
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"FilterPolicy": json.dumps({"tenant": ["e2e"]})}
    )

    email = "e2e.user@example.com"
    token = cli("token", "--tenant", "e2e", "--email", email, "--aws-port", str(running.aws_port))
    assert token.returncode == 0, token.stderr
    api = Api(running.api, "local", "e2e", token.stdout.strip().splitlines()[-1])
    body, images = application("genuine", seed=3)
    links = [{"kind": kind, "key": api.upload(kind, png)} for kind, png in images.items()]
    record = api.save(dict(body, email=email, document_links=links))
    assert record["validation_status"] == "pending"

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        record = api.records(email)[0]
        if record["validation_status"] != "pending":
            break
        time.sleep(0.5)
    assert record["validation_status"] == "verified", record["reasons"]
    assert record["checks"]["face_match"]["similarity"] >= 95
    assert record["checks"]["details_match"]["passed"] is True

    identity = {}
    # the identity handler follows the decision (moto applies an update's actions one by one: read until whole)
    while time.monotonic() < deadline and "validation_status" not in identity.get("Item", {}):
        identity = running.client("dynamodb").get_item(
            TableName="local_identity", ConsistentRead=True, Key={"tenant#email": {"S": f"e2e#{email}"}}
        )
        time.sleep(0.2)
    assert identity["Item"]["validation_status"]["S"] == "verified"

    messages = []
    while time.monotonic() < deadline and not messages:
        messages = sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
    assert len(messages) == 1
    envelope = json.loads(messages[0]["Body"])
    message = json.loads(envelope["Message"])
    assert message["event"] == "kyc.status_changed" and message["email"] == email
    assert message["validation_status"] == "verified" and message["tenant"] == "e2e"
    assert envelope["MessageAttributes"]["validation_status"]["Value"] == "verified"


def test_audit_command_lists_status_changes(running):
    """After the end-to-end test's application was decided, the operator lists its history."""
    result = cli("audit", "--tenant", "e2e", "--email", "e2e.user@example.com", "--aws-port", str(running.aws_port))
    assert result.returncode == 0, result.stdout + result.stderr
    entries = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["from"], e["to"]) for e in entries] == [(None, "pending"), ("pending", "verified")]
    assert entries[-1]["who"] == "system"


def test_demo_command_against_the_running_stack(running):
    result = cli("demo", "--api-url", running.api, "--aws-port", str(running.aws_port))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "demo OK" in result.stdout
    assert "pending -> verified" in result.stdout and "pending -> rejected" in result.stdout


def test_token_command_prints_a_token_the_api_accepts_and_refuses_other_tenants(running):
    admin = cli("token", "--tenant", "acme", "--admin", "--aws-port", str(running.aws_port))
    token = admin.stdout.strip().splitlines()[-1]
    h = {"Authorization": f"Bearer {token}"}
    r = requests.get(f"{running.api}/kyc/stage/local/tenant/acme/email/nobody%40example.com", headers=h, timeout=5)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = requests.get(f"{running.api}/kyc/stage/local/tenant/globex/email/nobody%40example.com", headers=h, timeout=5)
    assert r.status_code == 403 and "error" in r.json()
    r = requests.get(
        f"{running.api}/kyc/stage/local/tenant/acme/email/x%40example.com",
        headers={"Authorization": "Bearer " + token[:-4] + "AAAA"},
        timeout=5,
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def test_without_a_provider_nothing_is_decided(tmp_path):
    stack = StackProcess("--provider", "none")
    try:
        assert "automatic verification is OFF" in "".join(stack.output)
        from kyc_service.commands.demo import Api, application

        token = cli("token", "--tenant", "acme", "--email", "p@example.com", "--aws-port", str(stack.aws_port))
        api = Api(stack.api, "local", "acme", token.stdout.strip().splitlines()[-1])
        body, images = application("genuine", seed=1)
        links = [{"kind": kind, "key": api.upload(kind, png)} for kind, png in images.items()]
        api.save(dict(body, email="p@example.com", document_links=links))
        time.sleep(3)  # the verifier is not running: nothing may decide the record
        assert api.records("p@example.com")[0]["validation_status"] == "pending"
    finally:
        assert stack.stop() == 0


def test_state_dir_keeps_records_across_restarts(tmp_path):
    state = str(tmp_path / "state")
    first = StackProcess("--provider", "none", state_dir=state)
    from kyc_service.commands.demo import Api, application

    try:
        token = cli("token", "--tenant", "acme", "--email", "keep@example.com", "--aws-port", str(first.aws_port))
        api = Api(first.api, "local", "acme", token.stdout.strip().splitlines()[-1])
        body, images = application("genuine", seed=2)
        links = [{"kind": kind, "key": api.upload(kind, png)} for kind, png in images.items()]
        saved = api.save(dict(body, email="keep@example.com", document_links=links))
    finally:
        assert first.stop() == 0
    second = StackProcess("--provider", "none", state_dir=state)
    try:
        token = cli("token", "--tenant", "acme", "--email", "keep@example.com", "--aws-port", str(second.aws_port))
        api = Api(second.api, "local", "acme", token.stdout.strip().splitlines()[-1])
        again = api.records("keep@example.com")[0]
        assert again["submission_id"] == saved["submission_id"]
        s3 = second.client("s3")
        assert s3.head_object(Bucket="local-kyc-documents", Key=links[0]["key"])["ContentType"] == "image/png"
    finally:
        assert second.stop() == 0


def _token(running, tenant: str, email: str | None = None, admin: bool = False) -> str:
    args = ["token", "--tenant", tenant, "--aws-port", str(running.aws_port)]
    args += ["--email", email] if email else []
    args += ["--admin"] if admin else []
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_the_swap_of_issue_13_changes_no_verified_evidence_and_erasure_removes_it_all(running):
    """A genuine selfie through the presigned POST form, saved and verified; the same form posted
    again (still valid) with another person's face: the upload changes, the verified record, its
    evidence and its audit trail do not. Then the operator erases the customer."""
    import hashlib
    from urllib.parse import quote

    from kyc_service.commands.demo import application
    from kyc_service.testdata import samples

    tenant, email = "swap", "swap.victim@example.com"
    headers = {"Authorization": f"Bearer {_token(running, tenant, email)}"}
    base = f"{running.api}/kyc/stage/local/tenant/{tenant}"
    body, images = application("genuine", seed=5)
    forms, links = {}, []
    for kind in ("id_front", "selfie"):
        up = requests.post(
            f"{base}/documents", json={"content_type": "image/png", "kind": kind}, headers=headers, timeout=30
        ).json()
        s3 = requests.post(
            up["upload"]["url"],
            data=up["upload"]["fields"],
            files={"file": (f"{kind}.png", images[kind], "image/png")},
            timeout=30,
        )
        assert s3.status_code == 204, s3.text
        forms[kind] = up
        links.append({"kind": kind, "key": up["key"]})
    saved = requests.post(
        f"{base}/create_or_update", json=dict(body, email=email, document_links=links), headers=headers, timeout=30
    )
    assert saved.status_code == 201, saved.text
    record_url = f"{base}/email/{quote(email, safe='')}"
    deadline = time.monotonic() + 120
    record = saved.json()
    while record["validation_status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.5)
        record = requests.get(record_url, headers=headers, timeout=30).json()["records"][0]
    assert record["validation_status"] == "verified", record["reasons"]
    audit = ("audit", "--tenant", tenant, "--email", email, "--aws-port", str(running.aws_port))
    audit_before = cli(*audit).stdout

    s3 = running.client("s3")
    selfie = next(link for link in record["document_links"] if link["kind"] == "selfie")
    pinned = s3.get_object(Bucket="local-kyc-documents", Key=selfie["evidence_key"])["Body"].read()
    assert pinned == images["selfie"] and hashlib.sha256(pinned).hexdigest() == selfie["sha256"]

    impostor = samples.impostor_selfie()
    form = forms["selfie"]["upload"]
    again = requests.post(
        form["url"], data=form["fields"], files={"file": ("x.png", impostor, "image/png")}, timeout=30
    )
    assert again.status_code == 204  # the form is still valid: the upload is replaced
    assert s3.get_object(Bucket="local-kyc-documents", Key=selfie["key"])["Body"].read() == impostor
    time.sleep(3)  # the pollers run every 0.25 s: anything the swap set off would have happened
    after = requests.get(record_url, headers=headers, timeout=30).json()["records"][0]
    assert after == record
    assert s3.get_object(Bucket="local-kyc-documents", Key=selfie["evidence_key"])["Body"].read() == images["selfie"]
    assert cli(*audit).stdout == audit_before

    erased = cli("erase", "--tenant", tenant, "--email", email, "--aws-port", str(running.aws_port))
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout.splitlines()[-1])["erased"]["records"] == 1
    assert requests.get(record_url, headers=headers, timeout=30).status_code == 404
    admin = {"Authorization": f"Bearer {_token(running, tenant, admin=True)}"}
    assert requests.delete(record_url, headers=admin, timeout=30).status_code == 404
    from chalicelib.keys import owner_ref

    left = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket="local-kyc-documents").get("Contents", [])
        if owner_ref(email) in o["Key"]
    ]
    assert left == []
