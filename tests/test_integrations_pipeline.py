"""Tenant integrations through the local stack's parts: the API over HTTP (Chalice's local
server), the stage's resources on moto server, the app's handlers run by the local pollers, a
webhook receiver on 127.0.0.1, and a fake of the provider port (for exact similarities)."""

from __future__ import annotations

import itertools
import json
import logging
import socket
import time

import pytest

from chalicelib.providers.port import FaceComparison
from tests.conftest import ISSUER, environment
from tests.integrations_support import HttpApi, Receiver, pump, verified

# retries every second, given up 3 s after the first attempt; a 2 s delivery timeout
SHORT_SCHEDULE = {
    "KYC_WEBHOOK_RETRY_FIRST_S": "1",
    "KYC_WEBHOOK_RETRY_FACTOR": "1",
    "KYC_WEBHOOK_RETRY_MAX_S": "1",
    "KYC_WEBHOOK_RETRY_WINDOW_S": "3",
    "KYC_WEBHOOK_RETRY_JITTER": "0",
    "KYC_WEBHOOK_TIMEOUT": "2",
}


@pytest.fixture(scope="module")
def http(stage, issuer):
    from kyc_service.local.process import free_port

    with environment(
        KYC_TOKEN_ISSUER=ISSUER, KYC_JWKS=issuer.jwks(), KYC_WEBHOOK_ALLOW_LOOPBACK="true", **SHORT_SCHEDULE
    ):
        api = HttpApi(free_port())
        yield api
        api.close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def admin(issuer, tenant):
    return issuer.token(tenant=tenant, email=f"boss@{tenant}.test", admin=True)


def register(http, issuer, tenant, url, **extra) -> str:
    r = http.call("PUT", tenant, "/webhooks", admin(issuer, tenant), {"url": url, **extra})
    assert r.status_code == 201, r.text
    return r.json()["secret"]


def application(stage, tenant, email, **over):
    body = {
        "email": email,
        "first_name": "Ashish",
        "last_name": "Palankar",
        "date_of_birth": "1990-04-20",
        "id_type": "Driving license",
        "id_value": "D1234-5678",
        "document_links": [
            {"kind": "id_front", "key": stage.upload(tenant, "id_front")},
            {"kind": "selfie", "key": stage.upload(tenant, "selfie")},
        ],
    }
    body.update(over)
    return body


def submit(http, issuer, tenant, body, headers=None):
    r = http.call("POST", tenant, "/create_or_update", admin(issuer, tenant), body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r


def record(http, issuer, tenant, email):
    from urllib.parse import quote

    r = http.call("GET", tenant, f"/email/{quote(email, safe='')}", admin(issuer, tenant))
    assert r.status_code == 200, r.text
    found = r.json()["records"][0]
    # an admin's links carry a view_url presigned at each request: the rest is the record
    found["document_links"] = [{k: v for k, v in link.items() if k != "view_url"} for link in found["document_links"]]
    return found


def _without_view_urls(rec: dict) -> dict:
    return {
        **rec,
        "document_links": [{k: v for k, v in link.items() if k != "view_url"} for link in rec["document_links"]],
    }


def decided(http, issuer, tenant, email):
    return lambda: record(http, issuer, tenant, email)["validation_status"] != "pending"


# -- deliveries -----------------------------------------------------------------------------------


def test_one_signed_delivery_per_decision(stage, provider, http, issuer, receiver):
    tenant, email = "hooks", "hooks.user@example.com"
    secret = register(http, issuer, tenant, receiver.url)
    submit(http, issuer, tenant, application(stage, tenant, email))
    assert pump(stage.manager, lambda: len(receiver.received) >= 1)
    stage.manager.drain()
    time.sleep(1.5)
    stage.manager.drain()
    assert len(receiver.received) == 1  # exactly one, however long we wait

    (first,) = receiver.received
    event = verified(first, secret)  # the tenant's check, with the standardwebhooks package
    assert event["event"] == "kyc.status_changed" and event["tenant"] == tenant and event["email"] == email
    assert event["validation_status"] == "verified"
    assert first.path == "/hooks/kyc" and first.headers["Content-Type"] == "application/json"
    assert first.headers["webhook-id"].startswith("msg_")
    sns = [n["message"] for n in stage.notifications() if n["message"].get("email") == email]
    assert [json.loads(first.body)] == sns  # the SNS message's JSON, as published

    # a manual decision is another event: another delivery, another webhook-id
    r = http.call(
        "POST",
        tenant,
        f"/email/{email}/validate",
        admin(issuer, tenant),
        {
            "id_type": "Driving license",
            "id_value": "D1234-5678",
            "verification_status": "rejected",
            "reason": "document looks altered",
        },
    )
    assert r.status_code == 200, r.text
    assert pump(stage.manager, lambda: len(receiver.received) == 2)
    second = verified(receiver.received[1], secret)
    assert second["validation_status"] == "rejected" and second["decided_by"].startswith("admin:")
    assert receiver.received[1].headers["webhook-id"] != first.headers["webhook-id"]


def test_a_failing_receiver_gets_the_event_later(stage, provider, http, issuer, receiver):
    tenant, email = "flaky", "flaky.user@example.com"
    receiver.statuses = [500, 503]
    secret = register(http, issuer, tenant, receiver.url)
    submit(http, issuer, tenant, application(stage, tenant, email))
    assert pump(stage.manager, lambda: len(receiver.received) >= 3)
    stage.manager.drain()
    time.sleep(1.5)
    stage.manager.drain()
    attempts = receiver.received
    assert len(attempts) == 3
    assert len({a.headers["webhook-id"] for a in attempts}) == 1  # one event: one id for every attempt
    assert all(later.at - earlier.at >= 0.9 for earlier, later in itertools.pairwise(attempts))  # SQS delays
    assert verified(attempts[-1], secret)["email"] == email


def test_deliveries_given_up_go_to_the_dead_letter_queue_with_a_log_line(stage, provider, http, issuer, receiver):
    from chalicelib.config import settings

    tenant, email = "down", "down.user@example.com"
    receiver.statuses = [500] * 100
    register(http, issuer, tenant, receiver.url)
    lines: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = lines.append
    logging.getLogger("kyc-service").addHandler(handler)
    dlq = stage.sqs.get_queue_url(QueueName=settings().integrations.webhook_dlq_name)["QueueUrl"]
    try:
        submit(http, issuer, tenant, application(stage, tenant, email))
        dead: list[dict] = []

        def dead_lettered():
            dead.extend(stage.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", []))
            return bool(dead)

        assert pump(stage.manager, dead_lettered, timeout=40)
    finally:
        logging.getLogger("kyc-service").removeHandler(handler)
    kept = json.loads(dead[0]["Body"])
    assert kept["tenant"] == tenant and kept["webhook_id"].startswith("msg_")
    assert kept["attempts"] == len(receiver.received) >= 4 and kept["last_attempt"] == "status 500"
    assert json.loads(kept["event"])["email"] == email  # the event itself is kept for a redrive
    assert receiver.received[-1].at - receiver.received[0].at >= 3  # retried for the whole window
    given_up = [r for r in lines if r.getMessage().startswith("webhook delivery given up")]
    assert len(given_up) == 1 and email not in str(given_up[0].__dict__)  # no PII in the log line


def test_a_failing_endpoint_never_holds_up_another_tenant(stage, provider, http, issuer, receiver):
    slow = Receiver(statuses=[500] * 100, delay=3.0)  # slower than the 2 s delivery timeout
    try:
        register(http, issuer, "slowco", slow.url)
        secret = register(http, issuer, "fastco", receiver.url)
        submit(http, issuer, "slowco", application(stage, "slowco", "a@example.com"))
        submit(http, issuer, "fastco", application(stage, "fastco", "b@example.com"))
        started = time.monotonic()
        assert pump(stage.manager, lambda: len(receiver.received) == 1, timeout=20)
        assert time.monotonic() - started < 10
        assert verified(receiver.received[0], secret)["tenant"] == "fastco"
        assert pump(stage.manager, lambda: len(slow.received) >= 2)  # the slow one is retried, apart
    finally:
        slow.close()


def test_events_the_tenant_did_not_subscribe_to_are_not_sent(stage, provider, http, issuer, receiver):
    from chalicelib.handlers.webhooks import deliver

    register(http, issuer, "picky", receiver.url, events=["kyc.erased"])
    sns = {
        "Type": "Notification",
        "MessageId": "m-1",
        "Message": json.dumps({"event": "kyc.status_changed", "tenant": "picky", "validation_status": "verified"}),
    }
    assert deliver(json.dumps(sns)) == "not_subscribed"
    erased = dict(
        sns,
        MessageId="m-2",
        Message=json.dumps(
            {"event": "kyc.erased", "tenant": "picky", "reference": "r1", "occurred_at": "2026-01-01T00:00:00Z"}
        ),
    )
    assert deliver(json.dumps(erased)) == "delivered"
    assert [r.headers["webhook-id"] for r in receiver.received] == ["msg_m-2"]
    assert (
        deliver(json.dumps(dict(sns, Message=json.dumps({"event": "kyc.erased", "tenant": "nobody"})))) == "no_webhook"
    )
    assert deliver("not json") == "unreadable"


def test_delivery_resolves_again_and_connects_to_the_checked_address(stage, provider, http, issuer, monkeypatch):
    """DNS rebinding: a name that was public at registration and resolves to a private address at
    delivery reaches nothing; a public one is connected to by the address that was checked."""
    from chalicelib.handlers.webhooks import deliver
    from chalicelib.outbound import urls

    answers = {"hooks.example.test": ["93.184.216.34"]}
    monkeypatch.setattr(urls, "resolve", lambda host, port: answers[host])
    connected: list[tuple] = []

    def refuse(address, timeout=None, **kw):
        connected.append(address)
        raise ConnectionRefusedError("test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    register(http, issuer, "rebind", "https://hooks.example.test/kyc")
    sns = {
        "Type": "Notification",
        "MessageId": "m-3",
        "Message": json.dumps({"event": "kyc.status_changed", "tenant": "rebind"}),
    }
    assert deliver(json.dumps(sns)) == "retry_scheduled"
    assert connected == [("93.184.216.34", 443)]  # the checked address, not a second lookup

    answers["hooks.example.test"] = ["10.0.0.7"]  # the name now points inside
    assert deliver(json.dumps(dict(sns, MessageId="m-4"))) == "retry_scheduled"
    assert connected == [("93.184.216.34", 443)]  # no connection at all


def test_sqs_delays_hold_a_message_back_in_the_local_poller(stage):
    from chalicelib import aws
    from chalicelib.config import settings
    from chalicelib.handlers.webhooks import RETRY_KIND, deliver

    poller = stage.manager.poller("deliver_webhooks")
    url = aws.queue_url(settings().integrations.webhook_queue_name)
    stage.sqs.purge_queue(QueueUrl=url)  # earlier tests' retries, still delayed
    message = {
        "kind": RETRY_KIND,
        "webhook_id": "msg_x",
        "tenant": "nobody",
        "event_type": "kyc.erased",
        "event": "{}",
        "attempts": 1,
        "first_at": time.time(),
        "due_at": time.time() + 2,
    }
    stage.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message), DelaySeconds=2)
    assert poller.poll_once() == 0
    time.sleep(2.2)
    assert poller.poll_once() == 1
    # a message received before it is due (longer than SQS's 15 minutes) waits again
    assert deliver(json.dumps(dict(message, due_at=time.time() + 3600))) == "waiting"
    attrs = stage.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert int(attrs["Attributes"]["ApproximateNumberOfMessagesDelayed"]) == 1


# -- per-tenant rules ---------------------------------------------------------------------------


def test_two_tenants_with_different_thresholds_decide_the_same_borderline_case_differently(
    stage, provider, http, issuer
):
    r = http.call("PUT", "lenient", "/settings", admin(issuer, "lenient"), {"verify_threshold": 90})
    assert r.status_code == 200, r.text
    email = "borderline@example.com"
    for tenant in ("strict", "lenient"):
        body = application(stage, tenant, email)
        provider.faces[body["document_links"][1]["key"]] = FaceComparison(92.0, 1, 1)  # the same case
        submit(http, issuer, tenant, body)
    assert pump(
        stage.manager, lambda: decided(http, issuer, "strict", email)() and decided(http, issuer, "lenient", email)()
    )
    strict, lenient = record(http, issuer, "strict", email), record(http, issuer, "lenient", email)
    assert strict["validation_status"] == "needs_review" and lenient["validation_status"] == "verified"
    assert strict["checks"]["face_match"]["similarity"] == lenient["checks"]["face_match"]["similarity"] == 92.0
    assert strict["checks"]["rules"]["verify_threshold"] == 95 and strict["checks"]["rules"]["tenant_set"] == []
    assert lenient["checks"]["rules"]["verify_threshold"] == 90
    assert lenient["checks"]["rules"]["tenant_set"] == ["verify_threshold"]


def test_max_attempts_makes_the_last_rejection_final(stage, provider, http, issuer):
    tenant, email = "strictco", "tries@example.com"
    assert http.call("PUT", tenant, "/settings", admin(issuer, tenant), {"max_attempts": 2}).status_code == 200
    for n, address in enumerate(("1 First Street", "2 Second Street"), start=1):
        body = application(stage, tenant, email, address=address)
        provider.faces[body["document_links"][1]["key"]] = FaceComparison(30.0, 1, 1)
        submit(http, issuer, tenant, body)
        assert pump(stage.manager, decided(http, issuer, tenant, email))
        rec = record(http, issuer, tenant, email)
        assert rec["validation_status"] == "rejected"
        assert rec["checks"]["attempts"] == {"rejected": n, "max_attempts": 2, "final": n == 2}
    assert "no further attempts" in rec["reasons"][-1]


def test_require_license_check_sends_api_records_to_the_licence_validator(stage, provider, http, issuer, validator):
    tenant, email = "carefulco", "licence@example.com"
    validator.reset()
    r = http.call("PUT", tenant, "/settings", admin(issuer, tenant), {"require_license_check": True})
    assert r.status_code == 200 and r.json()["settings"]["require_license_check"] is True
    submit(http, issuer, tenant, application(stage, tenant, email))
    assert pump(
        stage.manager,
        lambda: (
            record(http, issuer, tenant, email)["checks"].get("license_validation", {}).get("status")
            in ("passed", "failed")
        ),
    )
    rec = record(http, issuer, tenant, email)
    assert [q["body"]["driver_license_id"] for q in validator.requests] == ["D1234-5678"]
    assert rec["validation_status"] == "verified" and rec["checks"]["license_validation"]["passed"] is True
    assert rec["checks"]["rules"]["require_license_check"] is True


# -- Idempotency-Key through the stack -----------------------------------------------------------


def test_a_replayed_create_or_update_changes_nothing(stage, provider, http, issuer, receiver):
    tenant, email = "replayco", "replay.user@example.com"
    register(http, issuer, tenant, receiver.url)
    body = application(stage, tenant, email)
    first = submit(http, issuer, tenant, body, headers={"Idempotency-Key": "signup-42"})
    assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "false"
    assert pump(stage.manager, lambda: len(receiver.received) == 1)
    stage.manager.drain()
    before = record(http, issuer, tenant, email)

    replay = submit(http, issuer, tenant, body, headers={"Idempotency-Key": "signup-42"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    stage.manager.drain()
    time.sleep(1.2)
    stage.manager.drain()
    # no new submission, no new decision (an admin's view_url is presigned anew on every read)
    assert _without_view_urls(record(http, issuer, tenant, email)) == _without_view_urls(before)
    assert len(receiver.received) == 1  # and no new event

    reused = submit_raw = http.call(
        "POST",
        tenant,
        "/create_or_update",
        admin(issuer, tenant),
        dict(body, city="Elsewhere"),
        headers={"Idempotency-Key": "signup-42"},
    )
    assert reused.status_code == 409 and submit_raw.json()["error"]["code"] == "idempotency_key_reused"
