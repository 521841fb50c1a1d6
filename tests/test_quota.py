"""The per-tenant quota (issue 17): a DynamoDB counter per tenant and window, enforced by the API
handler; beyond it 429 in the contract's error shape, other tenants still served."""

from __future__ import annotations

import boto3
import pytest

from chalicelib.storage import quota
from tests.conftest import STAGE

BASE = f"/kyc/stage/{STAGE}/tenant"


def _get(client, issuer, tenant: str, email: str = "ops@example.com"):
    token = issuer.token(tenant=tenant, email=email, admin=True)
    return client.http.get(f"{BASE}/{tenant}/records", headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def quota_of_3(env, monkeypatch):
    env.set(KYC_TENANT_QUOTA="3", KYC_TENANT_QUOTA_WINDOW_S="60")
    now = [1_800_000_010.0]
    monkeypatch.setattr(quota, "clock", lambda: now[0])
    return now


def test_a_tenant_over_its_quota_gets_429_and_others_are_served(client, issuer, quota_of_3):
    assert [_get(client, issuer, "acme").status_code for _ in range(3)] == [200, 200, 200]
    r = _get(client, issuer, "acme")
    assert r.status_code == 429
    assert r.json_body["error"]["code"] == "throttled"
    assert set(r.json_body["error"]) == {"code", "message", "details"}
    assert r.headers["Retry-After"] == "50"  # the window started at ...000, 10 s ago
    assert _get(client, issuer, "globex").status_code == 200  # another tenant's own counter
    quota_of_3[0] += 60  # the next window
    assert _get(client, issuer, "acme").status_code == 200


def test_the_counter_holds_no_pii_and_expires(client, issuer, quota_of_3, env):
    _get(client, issuer, "acme", email="kate@example.com")
    table = boto3.client("dynamodb", region_name="us-east-1")
    from chalicelib.config import settings

    items = table.scan(TableName=settings().events_table_name)["Items"]
    (item,) = [i for i in items if i["pk"]["S"].startswith("quota#")]
    assert item["pk"]["S"] == "quota#acme" and item["sk"]["S"] == "1800000000"
    assert int(item["expires_at"]["N"]) == 1_800_000_000 + 120
    assert "kate" not in str(item)


def test_no_quota_when_unset_as_on_the_local_stack(client, issuer, env):
    env.set(KYC_TENANT_QUOTA="0")
    assert {_get(client, issuer, "acme").status_code for _ in range(5)} == {200}


def test_unauthenticated_routes_are_not_counted(client, env, quota_of_3):
    assert {client.http.get("/health").status_code for _ in range(5)} == {200}
