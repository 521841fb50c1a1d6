"""Erasure on request (CONTRACT.md §1 DELETE .../email/{email}, chalicelib/storage/erasure.py): over
HTTP on a whole stage (moto server, the app's stream handlers fed by the local pollers), with every
table and the bucket listed afterwards."""

from __future__ import annotations

import json
import os
import time
from unittest import mock

import pytest

from chalicelib.keys import erasure_ref, owner_ref
from tests.erasure_support import TENANT, api_client, details, everything, hdr, path, save, upload
from tests.test_bundles import ROW, bundle, drop, new_uuid, png

ERASED = "erase.me@example.com"
KEPT = "keep.me@example.com"
# everything personal of the erased customer, as it appears anywhere
SECRETS = (
    ERASED,
    "erase.me",
    "Erasmus",
    "Gonewright",
    "E1111-2222",
    "P7777-0001",
    "B5555-0003",
    "1985-03-04",
    "Vanishing",
    "5555550177",
    owner_ref(ERASED),
)


@pytest.fixture
def http(stage, env, issuer):
    with api_client(env, issuer) as client:
        yield client


OTHER = {
    "first_name": "Keeper",
    "last_name": "Staywell",
    "date_of_birth": "1970-01-02",
    "id_value": "K3333-4444",
    "address": "1 Remaining Road",
    "phone_number": "+15555550199",
}


def apply(http, issuer, stage, email: str, passport: str = "P7777-0001", **over) -> dict:
    """A customer with two API records (a licence and a passport), an unlinked upload, a
    decided status and an audit trail."""
    user = issuer.token(email=email)
    front, _ = upload(http, user, "id_front", png(seed=11) + email.encode())
    selfie, _ = upload(http, user, "selfie", png(seed=12) + email.encode())
    upload(http, user, "selfie", png(seed=13) + email.encode())  # never linked
    links = [{"kind": "id_front", "key": front}, {"kind": "selfie", "key": selfie}]
    r = save(http, user, details(email, **over, document_links=links))
    assert r.status_code == 201, r.body
    r = save(http, user, details(email, **{**over, "id_type": "Passport", "id_value": passport}, document_links=links))
    assert r.status_code == 201, r.body
    stage.manager.drain()
    return r.json_body


def kyc_erased(stage) -> list[dict]:
    return [n for n in stage.notifications() if n["message"]["event"] == "kyc.erased"]


def test_erasure_leaves_nothing_personal_in_any_table_or_the_bucket(stage, provider, validator, http, issuer):
    validator.reset()
    admin = issuer.token(email="boss@acme.test", admin=True)
    apply(http, issuer, stage, ERASED)
    apply(http, issuer, stage, KEPT, passport="K8888-0002", **OTHER)
    app_uuid = new_uuid()  # a bank's bundle for the same customer (EMAIL column)
    drop(
        stage,
        app_uuid,
        bundle(
            app_uuid,
            row={
                **ROW,
                "EMAIL": ERASED,
                "FIRST_NAME": "Erasmus",
                "LAST_NAME": "Gonewright",
                "DOCUMENT_NUMBER": "B5555-0003",
            },
        ),
    )
    stage.manager.drain()
    records = http.http.get(path(ERASED), headers=hdr(admin)).json_body["records"]
    assert len(records) == 3 and "pending" not in {r["validation_status"] for r in records}  # decided
    before = everything(stage)
    assert all(secret in before for secret in SECRETS) and app_uuid in before  # the check below can fail
    stage.notifications()

    # a user may not erase, not even themself; another tenant's admin may not
    assert http.http.delete(path(ERASED), headers=hdr(issuer.token(email=ERASED))).status_code == 403
    assert http.http.delete(path(ERASED), headers=hdr(issuer.token(tenant="globex", admin=True))).status_code == 403

    r = http.http.delete(path(ERASED), headers=hdr(admin))
    assert r.status_code == 200, r.body
    # 3 records; documents: per API record 2 uploads + 1 unlinked upload + 2 pinned (shared by the two
    # records), the bundle's zip, 3 members, 2 intake copies and 2 pinned copies
    assert r.json_body == {"erased": {"records": 3, "documents": 3 + 2 + 1 + 3 + 2 + 2}}
    stage.manager.drain()

    after = everything(stage)
    assert [secret for secret in SECRETS if secret in after] == []
    assert app_uuid not in after
    assert KEPT in after and "Staywell" in after and owner_ref(KEPT) in after  # the other customer is untouched
    assert http.http.get(path(KEPT), headers=hdr(admin)).status_code == 200
    assert http.http.get(path(ERASED), headers=hdr(admin)).status_code == 404
    assert http.http.delete(path(ERASED), headers=hdr(admin)).status_code == 404

    # the audit trail: intact, without personal data, under the erasure's reference
    from chalicelib.storage.events import list_audit, list_audit_tombstones

    assert list_audit(TENANT, ERASED) == []
    trail = list_audit_tombstones(TENANT, ERASED)
    assert [(e["from"], e["to"]) for e in trail].count((None, "pending")) == 3
    assert [e["from"] for e in trail].count("pending") == 3  # each decision
    assert all(e["reasons"] for e in trail if e["who"] == "system")  # the system's reasons quote no values
    assert trail[-1]["to"] == "erased" and trail[-1]["who"].startswith("admin:")
    assert {e["id_type"] for e in trail[:-1]} == {"Driving license", "Passport"}

    notes = kyc_erased(stage)
    assert len(notes) == 1
    message = notes[0]["message"]
    assert set(message) == {"event", "tenant", "reference", "occurred_at"}
    assert message["tenant"] == TENANT and message["reference"] == erasure_ref(TENANT, ERASED)
    assert notes[0]["attributes"] == {"tenant": TENANT}


def test_a_stream_record_delivered_late_brings_nothing_back(stage, provider, http, issuer):
    """Up to 24 h late, at least once: the identity, audit and notification handlers check the
    tombstone; a newer submission after the erasure is a new customer and goes through."""
    import boto3

    import app as app_module
    from chalicelib.storage.events import list_audit
    from chalicelib.storage.models import tables
    from tests.test_pipeline import stream_records

    email = "late.record@example.com"
    admin = issuer.token(email="boss@acme.test", admin=True)
    apply(http, issuer, stage, email)
    ddbs = boto3.client("dynamodbstreams", endpoint_url=stage.endpoint, region_name="us-east-1")
    old = stream_records(ddbs, stage, [f"{TENANT}#{email}"])
    assert http.http.delete(path(email), headers=hdr(admin)).status_code == 200
    stage.manager.drain()
    stage.notifications()

    event = {"Records": [r for r in old if r["eventName"] != "REMOVE"]}
    for handler in (app_module.verify_records, app_module.update_identity, app_module.notify_decisions):
        assert handler(event, None) == {"batchItemFailures": []}
    assert list_audit(TENANT, email) == []
    assert list(tables().identity.query(f"{TENANT}#{email}")) == []
    assert stage.notifications() == []
    assert [secret for secret in (email, owner_ref(email)) if secret in everything(stage)] == []

    time.sleep(1.1)  # a new submission: created after the erasure's second
    apply(http, issuer, stage, email)
    assert [e["from"] for e in list_audit(TENANT, email)].count("pending") == 2
    assert tables().identity.get(f"{TENANT}#{email}").validation_status != "pending"
    r = http.http.delete(path(email), headers=hdr(admin))  # and may be erased in turn
    assert r.status_code == 200 and r.json_body["erased"]["records"] == 2


def test_a_failure_halfway_is_completed_by_the_retry_with_one_notification(stage, provider, http, issuer, monkeypatch):
    from chalicelib.storage import erasure, tombstones

    email = "halfway@example.com"
    admin = issuer.token(email="boss@acme.test", admin=True)
    apply(http, issuer, stage, email)
    stage.notifications()

    def down(tenant, email):
        raise RuntimeError("the identity table is unavailable")

    broken = tuple(erasure.Step(s.name, down, s.remains) if s.name == "identity" else s for s in erasure.STEPS)
    monkeypatch.setattr(erasure, "STEPS", broken)
    r = http.http.delete(path(email), headers=hdr(admin))
    assert r.status_code == 500 and r.json_body["error"]["code"] == "internal_error"
    stone = tombstones.read(TENANT, email)
    assert stone.status == tombstones.IN_PROGRESS and stone.counts["records"] == 2
    assert http.http.get(path(email), headers=hdr(admin)).status_code == 404  # the records went first
    assert kyc_erased(stage) == []

    monkeypatch.undo()  # the identity table is back
    r = http.http.delete(path(email), headers=hdr(admin))
    assert r.status_code == 200, r.body
    assert r.json_body["erased"]["records"] == 2 and r.json_body["erased"]["documents"] == 5
    assert tombstones.read(TENANT, email).status == tombstones.COMPLETE
    assert http.http.delete(path(email), headers=hdr(admin)).status_code == 404
    assert len(kyc_erased(stage)) == 1
    assert email not in everything(stage)


def test_a_run_in_progress_holds_the_erasure(stage, provider, http, issuer):
    from chalicelib.storage import tombstones

    email = "busy@example.com"
    admin = issuer.token(email="boss@acme.test", admin=True)
    apply(http, issuer, stage, email)
    stone = tombstones.start(TENANT, email, by="admin:other-run")  # another run holds the lease
    r = http.http.delete(path(email), headers=hdr(admin))
    assert r.status_code == 409 and r.json_body["error"]["code"] == "conflict"
    tombstones.release(stone)  # that run failed and let go: the retry completes it
    r = http.http.delete(path(email), headers=hdr(admin))
    assert r.status_code == 200 and r.json_body["erased"]["records"] == 2


def test_a_bundle_record_is_erased_by_its_app_uuid(stage, provider, validator, http, issuer):
    validator.reset()
    admin = issuer.token(email="boss@acme.test", admin=True)
    app_uuid = new_uuid()
    drop(stage, app_uuid, bundle(app_uuid, row={**ROW, "FIRST_NAME": "Bundlina"}))
    stage.manager.drain()
    assert app_uuid in everything(stage)
    r = http.http.delete(path(app_uuid), headers=hdr(admin))
    assert r.status_code == 200 and r.json_body == {"erased": {"records": 1, "documents": 1 + 3 + 2 + 2}}
    after = everything(stage)
    assert app_uuid not in after and app_uuid.lower() not in after and "Bundlina" not in after


def test_the_erase_command_does_the_same_for_operators(stage, provider, http, issuer, capsys):
    from chalicelib import config
    from kyc_service import cli

    email = "by.operator@example.com"
    apply(http, issuer, stage, email)
    port = stage.endpoint.rsplit(":", 1)[1]
    with mock.patch.dict(os.environ):  # the command points the settings at the stage; undone after
        code = cli.main(["erase", "--tenant", TENANT, "--email", email, "--aws-port", port, "--operator", "dpo"])
        again = cli.main(["erase", "--tenant", TENANT, "--email", email, "--aws-port", port])
    config.reset()
    out = capsys.readouterr()
    assert code == 0 and again == 1
    line = json.loads(out.out.strip().splitlines()[0])
    assert line["erased"] == {"records": 2, "documents": 5} and line["reference"] == erasure_ref(TENANT, email)
    assert "nothing to erase" in out.err and email not in out.out
    from chalicelib.storage.events import list_audit_tombstones

    assert list_audit_tombstones(TENANT, email)[-1]["who"] == "operator:dpo"
