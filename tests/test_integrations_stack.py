"""Tenant integrations as a tenant uses them: `python -m kyc_service run` in a subprocess (the
self-hosted engines decide), its HTTP routes, and a webhook receiver on 127.0.0.1 that checks
every delivery with the `standardwebhooks` package and the tenant's secret."""

from __future__ import annotations

import time

import pytest
import requests

from kyc_service.local.process import StackProcess
from tests.integrations_support import Receiver, verified

pytestmark = pytest.mark.system


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


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def token(running, tenant, email=None, admin=False):
    from kyc_service.commands.token import issue_token

    return issue_token(tenant, email, admin=admin, aws_port=running.aws_port)


def call(running, method, tenant, path, bearer, payload=None, headers=None):
    return requests.request(
        method,
        f"{running.api}/kyc/stage/local/tenant/{tenant}{path}",
        json=payload,
        headers={"Authorization": f"Bearer {bearer}", **(headers or {})},
        timeout=60,
    )


def apply(running, tenant, email, seed=3):
    """The demo's genuine applicant (the same images every time for one seed), uploaded."""
    from kyc_service.commands.demo import Api, application

    api = Api(running.api, "local", tenant, token(running, tenant, email))
    body, images = application("genuine", seed=seed)
    links = [{"kind": kind, "key": api.upload(kind, png)} for kind, png in images.items()]
    return api, dict(body, email=email, document_links=links)


def wait(condition, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return condition()


def decided(api, email):
    records = api.records(email)
    return records[0] if records and records[0]["validation_status"] != "pending" else None


def test_one_signed_delivery_per_decision_to_a_local_receiver(running, receiver):
    tenant, email = "whk", "whk.user@example.com"
    boss = token(running, tenant, admin=True)
    r = call(running, "PUT", tenant, "/webhooks", boss, {"url": receiver.url})
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    assert "secret" not in call(running, "GET", tenant, "/webhooks", boss).json()

    api, body = apply(running, tenant, email)
    api.save(body)
    assert wait(lambda: decided(api, email) is not None)
    rec = decided(api, email)
    assert wait(lambda: len(receiver.received) >= 1, timeout=30)
    time.sleep(3)  # nothing more arrives
    assert len(receiver.received) == 1
    event = verified(receiver.received[0], secret)
    assert event["event"] == "kyc.status_changed" and event["tenant"] == tenant and event["email"] == email
    assert event["validation_status"] == rec["validation_status"] == "verified"


def test_a_receiver_failing_the_first_tries_gets_the_event_later(running, receiver):
    tenant, email = "whk-flaky", "flaky.user@example.com"
    receiver.statuses = [500, 502, 503]
    boss = token(running, tenant, admin=True)
    secret = call(running, "PUT", tenant, "/webhooks", boss, {"url": receiver.url}).json()["secret"]
    api, body = apply(running, tenant, email)
    api.save(body)
    assert wait(lambda: decided(api, email) is not None)
    # the local stage's compressed schedule: retries after about 1 s, 3 s and 9 s
    assert wait(lambda: len(receiver.received) >= 4, timeout=60)
    attempts = receiver.received
    assert len({a.headers["webhook-id"] for a in attempts}) == 1
    assert attempts[-1].at - attempts[0].at >= 0.8 + 2.4 + 7.2  # the delays, less their jitter
    assert verified(attempts[-1], secret)["email"] == email


def test_a_replayed_create_or_update_changes_nothing(running):
    tenant, email = "whk-idem", "idem.user@example.com"
    api, body = apply(running, tenant, email)
    headers = {"Idempotency-Key": "signup-1"}
    first = api.http.post(api.url("/create_or_update"), json=body, headers=headers, timeout=30)
    assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "false"
    assert wait(lambda: decided(api, email) is not None)
    before = api.records(email)
    replay = api.http.post(api.url("/create_or_update"), json=body, headers=headers, timeout=30)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    time.sleep(2)
    assert api.records(email) == before
    other = api.http.post(api.url("/create_or_update"), json=dict(body, city="Elsewhere"), headers=headers, timeout=30)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"


def test_two_tenants_with_different_thresholds_decide_the_same_application_differently(running):
    """The same applicant (same images, same details) with two tenants: the stage's thresholds,
    and a tenant that verifies only from the top of the stage's bounds."""
    email = "same.person@example.com"
    strict = token(running, "th-strict", admin=True)
    r = call(running, "PUT", "th-strict", "/settings", strict, {"verify_threshold": 99.9})
    assert r.status_code == 200, r.text
    results = {}
    for tenant in ("th-stage", "th-strict"):
        api, body = apply(running, tenant, email)
        api.save(body)
        assert wait(lambda api=api: decided(api, email) is not None)
        results[tenant] = decided(api, email)
    similarity = results["th-stage"]["checks"]["face_match"]["similarity"]
    assert results["th-strict"]["checks"]["face_match"]["similarity"] == similarity
    assert 95 <= similarity < 99.9, f"not a borderline case for these thresholds: {similarity}"
    assert results["th-stage"]["validation_status"] == "verified"
    assert results["th-strict"]["validation_status"] == "needs_review"
    assert results["th-strict"]["checks"]["rules"]["verify_threshold"] == 99.9
    assert results["th-stage"]["checks"]["rules"]["verify_threshold"] == 95
