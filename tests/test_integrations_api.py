"""The tenant integration routes (settings, webhooks) and Idempotency-Key on create_or_update,
through chalice.test.Client on in-process moto (KMS included)."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import STAGE
from tests.test_api import USER, assert_error, body, hdr, post, stored_items

BASE = f"/kyc/stage/{STAGE}/tenant"
EVENTS_TABLE = f"{STAGE}_kyc_events"


@pytest.fixture
def api(client):
    """The Client, with the stage's webhook key in the in-process KMS."""
    kms = boto3.client("kms", region_name="us-east-1")
    key = kms.create_key(Description="webhook secrets")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=f"alias/{STAGE}-kyc-webhooks", TargetKeyId=key)
    return client


def admin(issuer, tenant="acme"):
    return issuer.token(tenant=tenant, email=f"boss@{tenant}.test", admin=True)


def call(api, method, path, token, payload=None, tenant="acme", headers=None):
    raw = "" if payload is None else (payload if isinstance(payload, str) else json.dumps(payload))
    h = hdr(token)
    h.update(headers or {})
    return getattr(api.http, method)(f"{BASE}/{tenant}{path}", headers=h, body=raw)


def events_items(prefix: str) -> list[dict]:
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=EVENTS_TABLE)["Items"]
    return [i for i in items if i["pk"]["S"].startswith(prefix)]


# -- settings ------------------------------------------------------------------------------


def test_settings_show_stage_defaults_then_the_tenants_own(api, issuer):
    token = admin(issuer)
    r = call(api, "get", "/settings", token)
    assert r.status_code == 200, r.body
    view = r.json_body
    assert view["settings"]["verify_threshold"] == 95 and view["settings"]["review_threshold"] == 80
    assert view["settings"]["accepted_id_types"] == ["Driving license", "Passport", "ID card"]
    assert view["settings"]["max_attempts"] is None and view["settings"]["require_liveness"] is False
    assert set(view["defaults"]) == set(view["settings"])
    assert view["bounds"]["verify_threshold"] == {"min": 90, "max": 99.9}

    r = call(
        api,
        "put",
        "/settings",
        token,
        {"verify_threshold": 92.5, "max_attempts": 3, "accepted_id_types": ["Passport"], "tenant": "acme"},
    )
    assert r.status_code == 200, r.body
    assert r.json_body["settings"]["verify_threshold"] == 92.5 and r.json_body["settings"]["max_attempts"] == 3
    assert set(r.json_body["defaults"]) == {
        "review_threshold",
        "require_liveness",
        "require_license_check",
        "duplicate_check",
    }
    again = call(api, "get", "/settings", token).json_body
    assert again == r.json_body
    # another tenant keeps the stage's defaults
    assert (
        call(api, "get", "/settings", admin(issuer, "globex"), tenant="globex").json_body["settings"][
            "verify_threshold"
        ]
        == 95
    )
    # PUT replaces: what it leaves out follows the stage again
    r = call(api, "put", "/settings", token, {"review_threshold": 70})
    assert r.json_body["settings"]["verify_threshold"] == 95 and r.json_body["settings"]["review_threshold"] == 70


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"verify_threshold": 50}, "verify_threshold"),
        ({"review_threshold": 99}, "review_threshold"),
        ({"max_attempts": -1}, "max_attempts"),
        ({"accepted_id_types": ["Visa"]}, "accepted_id_types"),
        ({"tenant": "globex"}, "tenant"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_settings_are_400_and_change_nothing(api, issuer, payload, field):
    token = admin(issuer)
    call(api, "put", "/settings", token, {"verify_threshold": 93})
    r = call(api, "put", "/settings", token, payload)
    assert_error(r, 400, "invalid_input")
    assert field in {d["field"] for d in r.json_body["error"]["details"]}
    assert call(api, "get", "/settings", token).json_body["settings"]["verify_threshold"] == 93


def test_settings_need_an_admin_of_the_tenant(api, issuer):
    assert_error(call(api, "get", "/settings", issuer.token(email=USER)), 403, "forbidden")
    assert_error(call(api, "put", "/settings", issuer.token(email=USER), {"verify_threshold": 90}), 403)
    assert_error(call(api, "get", "/settings", admin(issuer, "globex")), 403)
    assert_error(call(api, "put", "/settings", admin(issuer, "globex"), {"verify_threshold": 90}), 403)
    assert_error(call(api, "get", "/settings", None), 401)
    assert events_items("tenant#") == []


def test_accepted_id_types_refuse_other_documents(api, issuer):
    call(api, "put", "/settings", admin(issuer), {"accepted_id_types": ["Passport"]})
    r = post(api, issuer.token(email=USER), body())  # a driving licence
    assert_error(r, 400, "invalid_input")
    assert r.json_body["error"]["details"] == [{"field": "id_type", "problem": "not_accepted"}]
    assert stored_items() == []
    assert post(api, issuer.token(email=USER), body(id_type="Passport")).status_code == 201


# -- webhooks ---------------------------------------------------------------------------------


def test_webhook_register_show_rotate_delete(api, issuer, env):
    from standardwebhooks.webhooks import Webhook

    token = admin(issuer)
    assert_error(call(api, "get", "/webhooks", token), 404, "not_found")
    r = call(api, "put", "/webhooks", token, {"url": "https://93.184.216.34/kyc", "events": ["kyc.status_changed"]})
    assert r.status_code == 201, r.body
    created = r.json_body
    secret = created.pop("secret")
    assert secret.startswith("whsec_") and Webhook(secret)  # a secret the package takes
    assert created["url"] == "https://93.184.216.34/kyc" and created["events"] == ["kyc.status_changed"]

    shown = call(api, "get", "/webhooks", token).json_body
    assert "secret" not in json.dumps(shown).replace("secret_rotated_time", "").replace("previous_secret", "")
    assert shown["url"] == created["url"] and shown["previous_secret_expires_time"] is None

    # stored encrypted: the item holds no secret, only KMS ciphertext bound to the tenant
    (item,) = events_items("tenant#acme")
    raw = json.dumps(item)
    assert secret not in raw and secret[6:] not in raw
    from chalicelib.storage import webhooks

    hook = webhooks.get("acme")
    assert webhooks.decrypt("acme", hook.secret) == secret
    with pytest.raises(Exception, match=r"Invalid"):
        webhooks.decrypt("globex", hook.secret)  # the encryption context names the tenant

    r = call(api, "post", "/webhooks/rotate", token)
    assert r.status_code == 200, r.body
    new_secret = r.json_body["secret"]
    assert new_secret != secret and r.json_body["previous_secret_expires_time"] > r.json_body["updated_time"]
    assert webhooks.get("acme").signing_secrets() == [new_secret, secret]  # both sign during the grace period

    # PUT again replaces the endpoint and issues a new secret (200: it existed)
    r = call(api, "put", "/webhooks", token, {"url": "https://93.184.216.34/v2"})
    assert r.status_code == 200 and r.json_body["events"] == ["kyc.status_changed", "kyc.erased"]
    assert r.json_body["secret"] not in (secret, new_secret)

    assert call(api, "delete", "/webhooks", token).json_body == {"deleted": True}
    assert_error(call(api, "delete", "/webhooks", token), 404)
    assert_error(call(api, "post", "/webhooks/rotate", token), 404)
    assert_error(call(api, "get", "/webhooks", token), 404)


@pytest.mark.parametrize(
    "payload,problem",
    [
        ({"url": "http://93.184.216.34/kyc"}, "scheme"),
        ({"url": "https://10.1.2.3/kyc"}, "not_public"),
        ({"url": "https://169.254.169.254/latest"}, "not_public"),
        ({"url": "https://[::1]/kyc"}, "not_public"),
        ({"url": "https://localhost/kyc"}, "not_public"),
        ({"url": "https://93.184.216.34/kyc", "events": ["kyc.everything"]}, "invalid"),
        ({"url": "https://93.184.216.34/kyc", "events": []}, "invalid"),
        ({"url": "https://93.184.216.34/kyc", "secret": "whsec_mine"}, "unknown"),
        ({}, "missing"),
    ],
)
def test_bad_webhooks_are_400_and_stored_nowhere(api, issuer, payload, problem):
    r = call(api, "put", "/webhooks", admin(issuer), payload)
    assert_error(r, 400, "invalid_input")
    assert problem in {d["problem"] for d in r.json_body["error"]["details"]}
    assert events_items("tenant#") == []


def test_the_local_stage_also_accepts_http_to_127_0_0_1(api, issuer, env):
    # .chalice/config.json's local stage sets KYC_WEBHOOK_ALLOW_LOOPBACK (tests/test_integration_rules.py
    # shows the rule without it)
    r = call(api, "put", "/webhooks", admin(issuer), {"url": "http://127.0.0.1:9999/kyc"})
    assert r.status_code == 201, r.body
    env.set(KYC_PRODUCTION="true")  # never on a production stage
    assert_error(call(api, "put", "/webhooks", admin(issuer), {"url": "http://127.0.0.1:9999/kyc"}), 400)


def test_webhooks_need_an_admin_of_the_tenant(api, issuer):
    hook = {"url": "https://93.184.216.34/kyc"}
    call(api, "put", "/webhooks", admin(issuer), hook)
    for token in (issuer.token(email=USER), admin(issuer, "globex")):
        assert_error(call(api, "get", "/webhooks", token), 403)
        assert_error(call(api, "put", "/webhooks", token, hook), 403)
        assert_error(call(api, "delete", "/webhooks", token), 403)
        assert_error(call(api, "post", "/webhooks/rotate", token), 403)
    assert call(api, "get", "/webhooks", admin(issuer)).status_code == 200


# -- Idempotency-Key -------------------------------------------------------------------------


def keyed(api, token, payload, key, tenant="acme"):
    return post_with(api, token, payload, tenant, {"Idempotency-Key": key})


def post_with(api, token, payload, tenant, headers):
    h = hdr(token)
    h.update(headers)
    return api.http.post(f"{BASE}/{tenant}/create_or_update", headers=h, body=json.dumps(payload))


def test_same_key_and_body_replays_the_first_response_and_changes_nothing(api, issuer):
    token = issuer.token(email=USER)
    payload = body()
    first = keyed(api, token, payload, "order-1")
    assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "false"
    before = stored_items()
    # the record changes meanwhile (here: an admin's decision); the replay still answers the first response
    admin_token = admin(issuer)
    api.http.post(
        f"{BASE}/acme/email/{USER}/validate",
        headers=hdr(admin_token),
        body=json.dumps(
            {"id_type": "Driving license", "id_value": "D1234-5678", "verification_status": "verified", "reason": "ok"}
        ),
    )
    decided = stored_items()
    replay = keyed(api, token, dict(reversed(list(payload.items()))), "order-1")  # same JSON, other key order
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json_body == first.json_body
    assert stored_items() == decided and decided != before  # the replay wrote nothing

    reused = keyed(api, token, dict(payload, address="9 Other Road"), "order-1")
    assert_error(reused, 409, "idempotency_key_reused")
    assert stored_items() == decided


def test_keys_are_scoped_by_tenant_and_caller(api, issuer):
    payload = body()
    first = keyed(api, issuer.token(email=USER), payload, "k")
    assert first.status_code == 201
    # another caller with the same key and body: its own request, not a replay
    other = keyed(api, admin(issuer), payload, "k")
    assert other.status_code == 200 and other.headers["Idempotent-Replayed"] == "false"
    # another tenant's caller with the same key: never the first tenant's response
    globex = keyed(api, issuer.token(tenant="globex", email=USER), body(tenant="globex"), "k", tenant="globex")
    assert globex.status_code == 201 and globex.json_body["tenant"] == "globex"


def test_a_refused_request_stores_nothing_under_its_key(api, issuer):
    token = issuer.token(email=USER)
    assert_error(keyed(api, token, body(date_of_birth="2990-01-01"), "k2"), 400)
    assert keyed(api, token, body(), "k2").status_code == 201  # the key is free again


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "caf\u00e9"])
def test_bad_keys_are_400(api, issuer, key):
    r = keyed(api, issuer.token(email=USER), body(), key)
    assert_error(r, 400, "invalid_input")
    assert stored_items() == []


def test_erase_idempotency_deletes_a_customers_stored_responses(api, issuer):
    from chalicelib.storage.idempotency import erase_idempotency

    boss = admin(issuer)
    keyed(api, issuer.token(email=USER), body(), "a")
    keyed(api, boss, body(), "b")
    other = "someone@example.com"
    keyed(api, boss, body(email=other), "c")
    assert len(events_items("idempotency#create_or_update#acme")) == 3
    assert len(events_items(f"idempotency#customer#acme#{USER}")) == 2

    assert erase_idempotency("acme", USER) == 2
    stored = events_items("idempotency#")
    assert len(stored) == 2 and all(other in json.dumps(i) or "#customer#" not in i["pk"]["S"] for i in stored)
    assert erase_idempotency("acme", USER) == 0
    # the erased key is free again: the same request runs anew
    assert keyed(api, issuer.token(email=USER), body(), "a").headers["Idempotent-Replayed"] == "false"


def test_the_erasure_route_deletes_the_stored_responses_too(api, issuer):
    """DELETE .../email/{email} (docs/privacy.md) runs erase_idempotency as one of its steps."""
    from urllib.parse import quote

    boss = admin(issuer)
    keyed(api, issuer.token(email=USER), body(), "a")
    keyed(api, boss, body(email="someone@example.com"), "c")
    assert len(events_items(f"idempotency#customer#acme#{USER}")) == 1
    r = api.http.delete(
        f"/kyc/stage/local/tenant/acme/email/{quote(USER, safe='')}", headers={"Authorization": f"Bearer {boss}"}
    )
    assert r.status_code == 200, r.body
    assert events_items(f"idempotency#customer#acme#{USER}") == []
    stored = events_items("idempotency#create_or_update#acme")
    assert len(stored) == 1 and USER not in json.dumps(stored) and "someone@example.com" in json.dumps(stored)


# -- the spec (docs/openapi.yaml) ---------------------------------------------------------------


def test_integration_responses_conform_to_the_spec(api, issuer):
    from tests.test_openapi import CREATE, conforms

    settings_path = "/kyc/stage/{stage}/tenant/{tenant}/settings"
    hooks = "/kyc/stage/{stage}/tenant/{tenant}/webhooks"
    rotate = hooks + "/rotate"
    token, user = admin(issuer), issuer.token(email=USER)
    conforms(call(api, "get", "/settings", token), settings_path, "get", 200)
    conforms(call(api, "put", "/settings", token, {"verify_threshold": 91}), settings_path, "put", 200)
    conforms(call(api, "put", "/settings", token, {"verify_threshold": 1}), settings_path, "put", 400)
    conforms(call(api, "get", "/settings", user), settings_path, "get", 403)
    conforms(call(api, "get", "/webhooks", token), hooks, "get", 404)
    conforms(call(api, "put", "/webhooks", token, {"url": "https://93.184.216.34/h"}), hooks, "put", 201)
    conforms(call(api, "put", "/webhooks", token, {"url": "https://93.184.216.34/h"}), hooks, "put", 200)
    conforms(call(api, "put", "/webhooks", token, {"url": "ftp://x"}), hooks, "put", 400)
    conforms(call(api, "get", "/webhooks", token), hooks, "get", 200)
    conforms(call(api, "post", "/webhooks/rotate", token), rotate, "post", 200)
    conforms(call(api, "post", "/webhooks/rotate", token, {"secret": "mine"}), rotate, "post", 400)
    conforms(call(api, "delete", "/webhooks", token), hooks, "delete", 200)
    conforms(call(api, "delete", "/webhooks", token), hooks, "delete", 404)
    conforms(call(api, "post", "/webhooks/rotate", user), rotate, "post", 403)
    payload = body()
    conforms(keyed(api, user, payload, "spec-1"), CREATE, "post", 201)
    conforms(keyed(api, user, dict(payload, city="Miami"), "spec-1"), CREATE, "post", 409)
