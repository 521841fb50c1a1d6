"""An admin's decision stands (issue 14): the customer's resubmissions after a final rejection
are refused, automatic verification never overwrites an admin's decision of the same
submission, and the audit trail route tells the story. The app's real stream handlers run on
moto server (the `stage` fixture), driven through the REST routes."""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import pytest

from chalicelib.stage import ROOT
from tests.conftest import ISSUER

TENANT = "acme"
BASE = f"/kyc/stage/local/tenant/{TENANT}"


@pytest.fixture
def api(stage, provider, env, issuer):
    from chalice.test import Client

    from kyc_service.local.gateway import install

    env.set(KYC_TOKEN_ISSUER=ISSUER, KYC_JWKS=issuer.jwks())
    install()
    import app as app_module

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        with Client(app_module.app, stage_name="local") as client:
            yield client
    finally:
        os.chdir(cwd)


def call(client, method: str, path: str, token: str, body: dict | None = None):
    r = getattr(client.http, method)(
        path,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body=json.dumps(body) if body is not None else None,
    )
    return r.status_code, json.loads(r.body)


def upload(stage, email: str, kind: str) -> str:
    """An image under the customer's own uploads prefix (where the documents route puts it)."""
    import uuid

    from chalicelib.keys import uploads_prefix

    key = f"{uploads_prefix(TENANT, email)}{kind}/{uuid.uuid4().hex}.png"
    stage.s3.put_object(
        Bucket=stage.outputs["DocumentBucketName"],
        Key=key,
        ContentType="image/png",
        Body=b"\x89PNG\r\n\x1a\n" + b"0" * 32,
    )
    return key


def application(stage, email: str) -> dict:
    return {
        "email": email,
        "first_name": "Ashish",
        "last_name": "Palankar",
        "date_of_birth": "1990-04-20",
        "id_type": "Driving license",
        "id_value": "D1234-5678",
        "phone_number": "+15555550100",
        "document_links": [
            {"kind": "id_front", "key": upload(stage, email, "id_front")},
            {"kind": "selfie", "key": upload(stage, email, "selfie")},
        ],
    }


def test_a_final_rejection_stands_against_the_customers_resubmission(stage, api, issuer):
    """The issue's scenario: verified automatically, rejected by an admin as fraud, re-saved by the
    customer with only the phone changed: 409, the record unchanged, still the admin's rejection."""
    email = "fraud@example.com"
    path = f"{BASE}/email/{quote(email, safe='')}"
    admin, user = issuer.token(email="boss@acme.example", admin=True), issuer.token(email=email)
    body = application(stage, email)
    assert call(api, "post", f"{BASE}/create_or_update", user, body)[0] == 201
    stage.manager.drain()
    assert call(api, "get", path, user)[1]["records"][0]["validation_status"] == "verified"

    status, decided = call(
        api,
        "post",
        f"{path}/validate",
        admin,
        {
            "id_type": "Driving license",
            "id_value": "D1234-5678",
            "verification_status": "rejected",
            "reason": "suspected fraud: the ID was reported stolen",
        },
    )
    assert status == 200 and decided["decision_final"] is True
    stage.manager.drain()
    before = call(api, "get", path, user)[1]["records"]

    status, err = call(api, "post", f"{BASE}/create_or_update", user, dict(body, phone_number="+15555550199"))
    assert status == 409 and err["error"]["code"] == "decision_final"
    status, err = call(api, "post", f"{BASE}/create_or_update", user, dict(body, id_value="NEW-42"))
    assert status == 409 and err["error"]["code"] == "decision_final"
    stage.manager.drain()
    after = call(api, "get", path, user)[1]["records"]
    assert after == before and len(after) == 1
    assert after[0]["validation_status"] == "rejected" and after[0]["decided_by"].startswith("admin:")
    assert after[0]["reasons"] == ["suspected fraud: the ID was reported stolen"]

    status, trail = call(api, "get", f"{path}/events", admin)
    assert status == 200
    assert [(e["from"], e["to"]) for e in trail["events"]] == [
        (None, "pending"),
        ("pending", "verified"),
        ("verified", "rejected"),
    ]
    assert trail["events"][1]["decided_by"] == "system" and trail["events"][2]["decided_by"].startswith("admin:")
    assert trail["events"][2]["reasons"] == ["suspected fraud: the ID was reported stolen"]
    assert all(e["id_type"] == "Driving license" and e["occurred_at"].endswith("Z") for e in trail["events"])

    # the admin lifts it by asking the customer to try again: the next changed submission is verified
    status, lifted = call(
        api,
        "post",
        f"{path}/validate",
        admin,
        {
            "id_type": "Driving license",
            "id_value": "D1234-5678",
            "verification_status": "rejected",
            "reason": "please send a clearer photo",
            "final": False,
        },
    )
    assert status == 200 and lifted["decision_final"] is False
    status, saved = call(api, "post", f"{BASE}/create_or_update", user, dict(body, phone_number="+15555550199"))
    assert status == 200 and saved["validation_status"] == "pending"
    stage.manager.drain()
    assert call(api, "get", path, user)[1]["records"][0]["validation_status"] == "verified"


def test_automatic_verification_never_overwrites_an_admins_decision_of_the_same_submission(
    stage, api, issuer, provider
):
    email = "race@example.com"
    path = f"{BASE}/email/{quote(email, safe='')}"
    admin, user = issuer.token(email="boss@acme.example", admin=True), issuer.token(email=email)
    assert call(api, "post", f"{BASE}/create_or_update", user, application(stage, email))[0] == 201

    def admin_decides_meanwhile():  # while the verifier waits for the provider's answer
        status, _ = call(
            api,
            "post",
            f"{path}/validate",
            admin,
            {
                "id_type": "Driving license",
                "id_value": "D1234-5678",
                "verification_status": "rejected",
                "reason": "known fraud ring",
            },
        )
        assert status == 200

    provider.before_answer = admin_decides_meanwhile
    stage.manager.drain()
    [record] = call(api, "get", path, user)[1]["records"]
    assert record["validation_status"] == "rejected" and record["decided_by"].startswith("admin:")
    assert record["reasons"] == ["known fraud ring"] and record["decision_final"] is True
    assert record["checks"] == {}  # the verifier's result was dropped whole


def test_every_write_keeps_the_status_index_key(stage, api, issuer):
    """tenant#status follows validation_status through save, verification and validate."""
    from chalicelib.storage.models import tables

    email = "keys@example.com"
    admin, user = issuer.token(email="boss@acme.example", admin=True), issuer.token(email=email)
    call(api, "post", f"{BASE}/create_or_update", user, application(stage, email))
    record = tables().kyc.get(f"{TENANT}#{email}", "Driving license#D1234-5678", consistent_read=True)
    assert record.tenant_status == "acme#pending"
    stage.manager.drain()
    record.refresh(consistent_read=True)
    assert record.tenant_status == "acme#verified" == f"acme#{record.validation_status}"
    call(
        api,
        "post",
        f"{BASE}/email/{quote(email, safe='')}/validate",
        admin,
        {"id_type": "Driving license", "id_value": "D1234-5678", "verification_status": "rejected", "reason": "no"},
    )
    record.refresh(consistent_read=True)
    assert record.tenant_status == "acme#rejected"
    status, page = call(api, "get", f"{BASE}/records?status=rejected", admin)
    assert status == 200 and email in [r["email"] for r in page["records"]]
