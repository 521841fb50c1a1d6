"""The review routes (CONTRACT.md §1): the queue through the KYC table's indexes, keyed by the
tenant (the recorded Query calls prove it), page tokens bound to their tenant and status, the
audit trail route, view_url for admins only, and validate's `final`."""

from __future__ import annotations

import json
import types
from urllib.parse import parse_qs, quote, urlsplit

import boto3
import pytest
from botocore.config import Config

from tests.conftest import STAGE

BASE = f"/kyc/stage/{STAGE}/tenant"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def hdr(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


@pytest.fixture
def clock(monkeypatch):
    """Saves and decisions one second apart: the queue's order is theirs."""
    from chalicelib.storage import records

    now = [1_800_000_000]

    def tick() -> float:
        now[0] += 1
        return float(now[0])

    monkeypatch.setattr(records, "time", types.SimpleNamespace(time=tick))
    return now


@pytest.fixture
def queries(aws_env):
    """Every Query and Scan the stage's DynamoDB client sends, as sent."""
    from chalicelib import aws

    seen: list[tuple[str, dict]] = []
    events = aws.client("dynamodb").meta.events
    handlers = {}
    for op in ("Query", "Scan"):

        def record(params, _op=op, **_):
            seen.append((_op, json.loads(json.dumps(params))))

        handlers[op] = record
        events.register(f"provide-client-params.dynamodb.{op}", record)
    yield seen
    for op, handler in handlers.items():
        events.unregister(f"provide-client-params.dynamodb.{op}", handler)


def save(client, token: str, tenant: str, email: str, id_value: str = "D1234-5678", **over) -> dict:
    from chalicelib.keys import uploads_prefix

    s3 = boto3.client("s3", region_name="us-east-1")
    links = []
    for kind in ("id_front", "selfie"):
        key = f"{uploads_prefix(tenant, email)}{kind}/{id_value}.png"
        s3.put_object(Bucket=f"{STAGE}-kyc-documents", Key=key, Body=PNG, ContentType="image/png")
        links.append({"kind": kind, "key": key})
    body = {
        "email": email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_of_birth": "1990-04-20",
        "id_type": "Driving license",
        "id_value": id_value,
        "document_links": links,
        **over,
    }
    r = client.http.post(f"{BASE}/{tenant}/create_or_update", headers=hdr(token), body=json.dumps(body))
    assert r.status_code in (200, 201), r.body
    return json.loads(r.body)


def decide(client, token: str, tenant: str, email: str, status: str, id_value: str = "D1234-5678", **extra):
    body = {
        "id_type": "Driving license",
        "id_value": id_value,
        "verification_status": status,
        "reason": "checked by hand",
        **extra,
    }
    return client.http.post(
        f"{BASE}/{tenant}/email/{quote(email, safe='')}/validate", headers=hdr(token), body=json.dumps(body)
    )


def queue(client, token: str, tenant: str = "acme", **params):
    query = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())
    r = client.http.get(f"{BASE}/{tenant}/records" + (f"?{query}" if query else ""), headers=hdr(token))
    return r.status_code, json.loads(r.body)


@pytest.fixture
def people(client, issuer, clock):
    """Five customers of acme (two then rejected, one verified) and one of globex."""
    admin = issuer.token(email="boss@acme.test", admin=True)
    emails = [f"c{i}@example.com" for i in range(5)]
    for email in emails:
        save(client, admin, "acme", email)
    assert decide(client, admin, "acme", emails[1], "rejected").status_code == 200
    assert decide(client, admin, "acme", emails[3], "rejected", final=False).status_code == 200
    assert decide(client, admin, "acme", emails[4], "verified").status_code == 200
    save(client, issuer.token(tenant="globex", email="g@example.org", admin=True), "globex", "g@example.org")
    return admin, emails


def test_queue_lists_the_tenants_records_newest_first_in_full_pages(client, issuer, people, queries):
    admin, emails = people
    status, body = queue(client, admin)
    assert status == 200 and body["next"] is None
    # updated last first: c4 (verified), c3, c1 (rejected), then c2, c0 (pending, saved in that order)
    assert [r["email"] for r in body["records"]] == [emails[4], emails[3], emails[1], emails[2], emails[0]]
    assert {r["tenant"] for r in body["records"]} == {"acme"}

    pages, token = [], None
    while True:
        status, body = queue(client, admin, limit=2, **({"next": token} if token else {}))
        assert status == 200
        pages.append([r["email"] for r in body["records"]])
        token = body["next"]
        if token is None:
            break
    assert pages == [[emails[4], emails[3]], [emails[1], emails[2]], [emails[0]]]  # full pages, no empty tail

    status, body = queue(client, admin, status="rejected")
    assert [r["email"] for r in body["records"]] == [emails[3], emails[1]]
    assert [r["decision_final"] for r in body["records"]] == [False, True]
    status, body = queue(client, admin, status="pending", limit=1)
    assert [r["email"] for r in body["records"]] == [emails[2]] and body["next"]
    status, body = queue(client, admin, status="pending", limit=1, next=body["next"])
    assert [r["email"] for r in body["records"]] == [emails[0]] and body["next"] is None
    assert queue(client, admin, status="needs_review")[1] == {"records": [], "next": None}

    # every read was a Query of an index, keyed by the tenant (and status); no scan, no filter
    assert queries and all(op == "Query" for op, _ in queries)
    for _op, params in queries:
        assert params["IndexName"] in ("tenant-updated", "tenant-status-updated")
        assert params["KeyConditionExpression"] == "#p = :p" and "FilterExpression" not in params
        key = params["ExpressionAttributeValues"][":p"]["S"]
        if params["IndexName"] == "tenant-updated":
            assert params["ExpressionAttributeNames"] == {"#p": "tenant"} and key == "acme"
        else:
            assert params["ExpressionAttributeNames"] == {"#p": "tenant#status"} and key.startswith("acme#")


def test_queue_is_for_admins_of_the_tenant_only(client, issuer, people):
    admin, emails = people
    assert queue(client, issuer.token(email=emails[0]))[0] == 403  # a user, even with records there
    assert queue(client, issuer.token(tenant="globex", email="g@example.org", admin=True))[0] == 403
    status, body = queue(client, issuer.token(tenant="globex", email="g@example.org", admin=True), tenant="globex")
    assert status == 200 and [r["email"] for r in body["records"]] == ["g@example.org"]
    r = client.http.get("/kyc/stage/prod/tenant/acme/records", headers=hdr(admin))
    assert r.status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"limit": "-1"},
        {"limit": "1e1"},
        {"status": "approved"},
        {"next": "garbage!"},
        {"next": "eyJ2IjoxfQ"},
        {"next": ""},
        {"sort": "name"},
    ],
)
def test_queue_refuses_bad_parameters(client, issuer, people, params):
    status, body = queue(client, people[0], **params)
    assert status == 400 and body["error"]["code"] == "invalid_input"


def test_page_tokens_are_bound_to_their_tenant_and_status(client, issuer, people):
    from chalicelib.http.review import decode_token, encode_token
    from chalicelib.storage.queue import Position

    admin, emails = people
    globex = issuer.token(tenant="globex", email="g@example.org", admin=True)
    save(client, globex, "globex", "h@example.org")
    status, body = queue(client, globex, tenant="globex", limit=1)
    assert status == 200 and body["next"]
    # globex's token in acme's queue: refused, nothing of either tenant read
    status, err = queue(client, admin, next=body["next"])
    assert status == 400 and err["error"]["details"] == [{"field": "next", "problem": "invalid"}]
    # a token of the all-status queue in the pending queue, and the reverse
    _, first = queue(client, admin, limit=1)
    assert queue(client, admin, status="pending", next=first["next"])[0] == 400
    _, pending = queue(client, admin, status="pending", limit=1)
    assert queue(client, admin, next=pending["next"])[0] == 400
    # a forged token naming acme but pointing into globex's partition
    forged = encode_token("acme", None, Position(1, "globex#g@example.org", "Driving license#D1"))
    assert queue(client, admin, next=forged)[0] == 400
    with pytest.raises(Exception, match="next is not"):
        decode_token(forged, "acme", None)


def test_view_urls_for_admins_only_presign_the_evidence(client, issuer, people):
    import requests

    admin, emails = people
    record = queue(client, admin)[1]["records"][0]
    for link in record["document_links"]:
        url = urlsplit(link["view_url"])
        query = parse_qs(url.query)
        # the pinned copy the verifier read, never the upload (which the customer could replace)
        assert link["evidence_key"] != link["key"]
        assert url.path.endswith(link["evidence_key"]) and int(query["X-Amz-Expires"][0]) <= 300
        got = requests.get(link["view_url"], timeout=10)
        assert got.status_code == 200 and got.content == PNG
    own = client.http.get(f"{BASE}/acme/email/{quote(emails[4], safe='')}", headers=hdr(issuer.token(email=emails[4])))
    assert all("view_url" not in link for link in json.loads(own.body)["records"][0]["document_links"])
    via_get = client.http.get(f"{BASE}/acme/email/{quote(emails[4], safe='')}", headers=hdr(admin))
    assert all("view_url" in link for link in json.loads(via_get.body)["records"][0]["document_links"])


def test_view_url_takes_the_pinned_evidence_and_never_another_tenants_object():
    from chalicelib.storage.documents import view_url

    s3 = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1").client(
        "s3", config=Config(signature_version="s3v4")
    )
    evidence = "evidence/biometric/acme/888a175c3523d9e6/" + "a" * 64 + ".png"
    pinned = {"kind": "selfie", "key": "uploads/acme/888a175c3523d9e6/selfie/s.png", "evidence_key": evidence}
    url = urlsplit(view_url(s3, "b", "acme", pinned))
    assert url.path.endswith("/" + evidence) and "versionId" not in parse_qs(url.query)
    plain = urlsplit(view_url(s3, "b", "acme", {"kind": "selfie", "key": "tenants/acme/uploads/x/s.png"}))
    assert plain.path.endswith("/tenants/acme/uploads/x/s.png")
    assert int(parse_qs(plain.query)["X-Amz-Expires"][0]) == 300
    other = dict(pinned, evidence_key=evidence.replace("/acme/", "/globex/"))
    assert view_url(s3, "b", "acme", other) is None
    assert view_url(s3, "b", "acme", {"kind": "selfie", "key": "uploads/globex/x/s.png"}) is None
    assert view_url(s3, "b", "acme", {"kind": "selfie", "key": "tenants/globex/uploads/x/s.png"}) is None
    assert view_url(s3, "b", "acme", {"kind": "selfie", "key": "tenants/acme/../globex/s.png"}) is None


def test_validate_final_blocks_the_customer_until_an_admin_decides_again(client, issuer, clock):
    admin, user = issuer.token(email="boss@acme.test", admin=True), issuer.token(email="eve@example.com")
    first = save(client, user, "acme", "eve@example.com")
    rejected = json.loads(decide(client, admin, "acme", "eve@example.com", "rejected").body)
    assert rejected["decision_final"] is True and rejected["validation_status"] == "rejected"
    for attempt in ({}, {"phone_number": "+15555550199"}, {"id_value": "OTHER-1"}):  # same, changed, another ID
        body = {
            "email": "eve@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "date_of_birth": "1990-04-20",
            "id_type": "Driving license",
            "id_value": "D1234-5678",
            "document_links": [{"kind": link["kind"], "key": link["key"]} for link in first["document_links"]],
            **attempt,
        }
        for token in (user, admin):
            r = client.http.post(f"{BASE}/acme/create_or_update", headers=hdr(token), body=json.dumps(body))
            assert r.status_code == 409 and json.loads(r.body)["error"]["code"] == "decision_final"
    records = json.loads(client.http.get(f"{BASE}/acme/email/eve%40example.com", headers=hdr(admin)).body)["records"]

    def strip(record):  # presigned URLs differ per request
        return {
            **record,
            "document_links": [{k: v for k, v in link.items() if k != "view_url"} for link in record["document_links"]],
        }

    assert len(records) == 1 and strip(records[0]) == strip(rejected)  # unchanged
    assert records[0]["validation_status"] == "rejected" and records[0]["decided_by"].startswith("admin:")
    # the admin asks the customer to try again: the next changed submission is taken
    again = json.loads(decide(client, admin, "acme", "eve@example.com", "rejected", final=False).body)
    assert again["decision_final"] is False
    resaved = save(client, user, "acme", "eve@example.com", phone_number="+15555550199")
    assert resaved["validation_status"] == "pending" and resaved["decision_final"] is False
    # a verified decision never blocks
    assert json.loads(decide(client, admin, "acme", "eve@example.com", "verified").body)["decision_final"] is False
    save(client, user, "acme", "eve@example.com", phone_number="+15555550100")


def test_validate_refuses_a_final_that_is_not_a_boolean(client, issuer):
    admin = issuer.token(email="boss@acme.test", admin=True)
    save(client, admin, "acme", "f@example.com")
    r = decide(client, admin, "acme", "f@example.com", "rejected", final="yes")
    assert r.status_code == 400 and json.loads(r.body)["error"]["details"] == [{"field": "final", "problem": "type"}]
    body = {
        "email": "f@example.com",
        "first_name": "A",
        "last_name": "B",
        "date_of_birth": "1990-04-20",
        "id_type": "Driving license",
        "id_value": "X1",
        "decision_final": False,
    }
    r = client.http.post(f"{BASE}/acme/create_or_update", headers=hdr(admin), body=json.dumps(body))
    assert r.status_code == 400 and json.loads(r.body)["error"]["details"][0]["problem"] == "service_owned"


def test_events_route_is_for_admins_and_404_for_strangers(client, issuer):
    from chalicelib.storage.events import record_audit
    from chalicelib.storage.models import tables

    admin = issuer.token(email="boss@acme.test", admin=True)
    save(client, admin, "acme", "t@example.com")
    record = tables().kyc.get("acme#t@example.com", "Driving license#D1234-5678")
    record_audit(None, record, decided=False)  # what the identity handler writes for the new submission
    r = client.http.get(f"{BASE}/acme/email/t%40example.com/events", headers=hdr(admin))
    assert r.status_code == 200
    [event] = json.loads(r.body)["events"]
    assert event["from"] is None and event["to"] == "pending" and event["id_type"] == "Driving license"
    assert event["decided_by"] == "submission:api" and event["occurred_at"].endswith("Z") and event["reasons"] == []
    assert (
        client.http.get(
            f"{BASE}/acme/email/t%40example.com/events", headers=hdr(issuer.token(email="t@example.com"))
        ).status_code
        == 403
    )
    globex = issuer.token(tenant="globex", email="boss@globex.test", admin=True)
    assert client.http.get(f"{BASE}/acme/email/t%40example.com/events", headers=hdr(globex)).status_code == 403
    assert client.http.get(f"{BASE}/globex/email/t%40example.com/events", headers=hdr(globex)).status_code == 404
    assert client.http.get(f"{BASE}/acme/email/nobody%40example.com/events", headers=hdr(admin)).status_code == 404


def test_review_responses_conform_to_the_spec(client, issuer, people):
    from chalicelib.storage.events import record_audit
    from chalicelib.storage.models import tables
    from tests.test_openapi import conforms

    admin, emails = people
    records = "/kyc/stage/{stage}/tenant/{tenant}/records"
    events = "/kyc/stage/{stage}/tenant/{tenant}/email/{email}/events"
    page = conforms(client.http.get(f"{BASE}/acme/records?limit=2", headers=hdr(admin)), records, "get", 200)
    assert page["next"] and all("view_url" in link for r in page["records"] for link in r["document_links"])
    conforms(client.http.get(f"{BASE}/acme/records?limit=0", headers=hdr(admin)), records, "get", 400)
    conforms(client.http.get(f"{BASE}/acme/records", headers=hdr(issuer.token(email=emails[0]))), records, "get", 403)
    record = tables().kyc.get(f"acme#{emails[1]}", "Driving license#D1234-5678")
    record_audit(None, record, decided=True)
    trail = conforms(
        client.http.get(f"{BASE}/acme/email/{quote(emails[1], safe='')}/events", headers=hdr(admin)), events, "get", 200
    )
    assert trail["events"][0]["to"] == "rejected" and trail["events"][0]["decided_by"].startswith("admin:")
    conforms(client.http.get(f"{BASE}/acme/email/nobody%40example.com/events", headers=hdr(admin)), events, "get", 404)
    r = client.http.get("/console/config.json")
    assert r.status_code == 200 and json.loads(r.body) == {"stage": STAGE, "sign_in": None}
    conforms(client.http.get("/console/nothing.txt"), "/console/{name}", "get", 404)


def test_a_final_rejection_arriving_during_a_save_of_another_id_wins(client, issuer, monkeypatch):
    """The save checks the customer's other records atomically with its write: a final rejection
    that lands between the read and the write makes the save a 409 decision_final."""
    from chalicelib.domain.submission import ManualDecision
    from chalicelib.services import store
    from chalicelib.storage import records

    admin, user = issuer.token(email="boss@acme.test", admin=True), issuer.token(email="race@example.com")
    save(client, user, "acme", "race@example.com")
    real = records.RecordStore.pin_documents

    def admin_rejects_meanwhile(self, *args):
        monkeypatch.setattr(records.RecordStore, "pin_documents", real)
        store().decide_manually(
            "acme", "race@example.com", ManualDecision("Driving license", "D1234-5678", "rejected", "fraud"), "boss"
        )
        return real(self, *args)

    monkeypatch.setattr(records.RecordStore, "pin_documents", admin_rejects_meanwhile)
    from chalicelib.keys import uploads_prefix

    key = f"{uploads_prefix('acme', 'race@example.com')}id_front/OTHER.png"
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=f"{STAGE}-kyc-documents", Key=key, Body=PNG, ContentType="image/png"
    )
    body = {
        "email": "race@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_of_birth": "1990-04-20",
        "id_type": "Passport",
        "id_value": "P999",
        "document_links": [{"kind": "id_front", "key": key}],
    }
    r = client.http.post(f"{BASE}/acme/create_or_update", headers=hdr(user), body=json.dumps(body))
    assert r.status_code == 409 and json.loads(r.body)["error"]["code"] == "decision_final"
    listed = json.loads(client.http.get(f"{BASE}/acme/email/race%40example.com", headers=hdr(admin)).body)["records"]
    assert [(x["id_type"], x["validation_status"]) for x in listed] == [("Driving license", "rejected")]
