"""Verification on the stream, identity records, audit and notifications (CONTRACT.md §2),
with the app's real handlers fed by the local pollers from moto's DynamoDB stream."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest

from chalicelib.providers.port import FaceComparison, ProviderThrottled, UnusableInput
from tests.pipeline_support import REGION, Stage, textract_fields

TENANT = "acme"


def submit(stage: Stage, email: str, **over):
    from chalicelib.config import settings
    from chalicelib.http.validation import parse_submission
    from chalicelib.services import store

    body = {
        "email": email,
        "first_name": "Ashish",
        "last_name": "Palankar",
        "date_of_birth": "1990-04-20",
        "id_type": "Driving license",
        "id_value": "D1234-5678",
        "document_links": [
            {"kind": "id_front", "key": stage.upload(TENANT, "id_front")},
            {"kind": "selfie", "key": stage.upload(TENANT, "selfie")},
        ],
    }
    body.update(over)
    record, _, _ = store().save(TENANT, parse_submission(body, "local", TENANT, settings()))
    return record, body


def current(email: str, id_type="Driving license", id_value="D1234-5678"):
    from chalicelib.services import store

    return store().get(TENANT, email, id_type, id_value)


def identity(email: str):
    from chalicelib.storage.models import tables

    return tables().identity.get(f"{TENANT}#{email}", consistent_read=True)


def audit(email: str):
    from chalicelib.storage.events import list_audit

    return list_audit(TENANT, email)


def test_genuine_application_is_verified_with_identity_audit_and_one_notification(stage, provider):
    email = "genuine@example.com"
    record, _ = submit(stage, email)
    stage.manager.drain()
    rec = current(email)
    assert rec.validation_status == "verified" and rec.verify is False and rec.decided_by == "system"
    checks = rec.checks.as_dict()
    assert checks["face_match"]["passed"] is True and checks["face_match"]["similarity"] == 99.0
    fields = checks["details_match"]["fields"]
    assert all(fields[f]["passed"] for f in ("FIRST_NAME", "LAST_NAME", "DATE_OF_BIRTH", "DOCUMENT_NUMBER"))
    assert rec.submission_id == record.submission_id

    ident = identity(email)
    assert ident.validation_status == "verified" and ident.id_type == "Driving license"
    assert ident.decided_by == "system" and ident.decision_id == rec.decision_id

    notes = [n for n in stage.notifications() if n["message"]["email"] == email]
    assert len(notes) == 1
    msg = notes[0]["message"]
    assert msg["event"] == "kyc.status_changed" and msg["validation_status"] == "verified"
    assert msg["tenant"] == TENANT and msg["id_type"] == "Driving license" and msg["decided_by"] == "system"
    assert dt.datetime.fromisoformat(msg["occurred_at"].replace("Z", "+00:00")).timestamp() == rec.decided_time
    assert notes[0]["attributes"] == {"tenant": TENANT, "validation_status": "verified"}

    trail = audit(email)
    assert [(e["from"], e["to"]) for e in trail] == [(None, "pending"), ("pending", "verified")]
    assert trail[-1]["who"] == "system"


@pytest.mark.parametrize(
    "case,face,doc,status,reason_part,failed_check",
    [
        ("face", FaceComparison(40.0, 1, 1), None, "rejected", "does not match the ID photo", "face_match"),
        ("dob", None, textract_fields(dob="01/12/1957"), "rejected", "date of birth", "details_match"),
        ("band", FaceComparison(88.0, 1, 1), None, "needs_review", "", "face_match"),
        ("two_faces", FaceComparison(None, 2, 0), None, "rejected", "2 faces", "face_match"),
        ("expired", None, textract_fields(expiry="01/31/2020"), "rejected", "expired", "details_match"),
    ],
)
def test_decisions_with_reasons(stage, provider, case, face, doc, status, reason_part, failed_check):
    email = f"{case}@example.com"
    record, body = submit(stage, email)
    selfie = body["document_links"][1]["key"]
    front = body["document_links"][0]["key"]
    if face:
        provider.faces[selfie] = face
    if doc:
        provider.documents[front] = doc
    stage.manager.drain()
    rec = current(email)
    assert rec.validation_status == status, rec.reasons
    assert rec.reasons and any(reason_part in r for r in rec.reasons)
    assert rec.checks.as_dict()[failed_check]["passed"] is False
    assert identity(email).validation_status == status
    assert [n["message"]["validation_status"] for n in stage.notifications() if n["message"]["email"] == email] == [
        status
    ]


def test_unusable_image_becomes_a_decision_not_a_retry(stage, provider):
    email = "unusable@example.com"
    _, body = submit(stage, email)
    provider.faces[body["document_links"][1]["key"]] = UnusableInput("the selfie is not a readable image")
    stage.manager.drain()
    rec = current(email)
    assert rec.validation_status == "rejected" and rec.reasons == ["the selfie is not a readable image"]


def test_missing_documents_need_review(stage, provider):
    email = "nodocs@example.com"
    submit(stage, email, document_links=[])
    stage.manager.drain()
    rec = current(email)
    assert rec.validation_status == "needs_review"
    assert "selfie" in rec.reasons[0] and provider.calls == []


def test_throttling_is_reported_as_partial_failure_and_retried(stage, provider, monkeypatch):
    from chalicelib.handlers import verifier

    email = "throttled@example.com"
    record, body = submit(stage, email)
    other, other_body = submit(stage, "fine@example.com")
    provider.faces[body["document_links"][1]["key"]] = ProviderThrottled("throttled")
    # Deliver the two INSERTs once, by hand, in Lambda's shape, to see the response.
    ddbs = boto3.client("dynamodbstreams", endpoint_url=stage.endpoint, region_name=REGION)
    raws = stream_records(ddbs, stage, [f"{TENANT}#{email}", f"{TENANT}#fine@example.com"])
    response = verifier.handle_batch(raws)
    failed = [f["itemIdentifier"] for f in response["batchItemFailures"]]
    assert failed == [
        r["dynamodb"]["SequenceNumber"] for r in raws if f"{TENANT}#{email}" in str(r["dynamodb"]["Keys"])
    ]
    assert current(email).validation_status == "pending"
    assert current("fine@example.com").validation_status == "verified"
    del provider.faces[body["document_links"][1]["key"]]
    stage.manager.drain()
    assert current(email).validation_status == "verified"


def stream_records(ddbs, stage: Stage, pks: list[str]) -> list[dict]:
    """Every stream record so far for the given keys, in Lambda's event-record shape."""
    arn = stage.outputs["KycTableStreamArn"]
    out = []
    for shard in ddbs.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = ddbs.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        while it:
            page = ddbs.get_records(ShardIterator=it, Limit=1000)
            for r in page["Records"]:
                if r["dynamodb"]["Keys"]["tenant#email"]["S"] in pks:
                    r = dict(r, eventSourceARN=arn)
                    r["dynamodb"] = dict(
                        r["dynamodb"],
                        ApproximateCreationDateTime=int(r["dynamodb"]["ApproximateCreationDateTime"].timestamp()),
                    )
                    out.append(r)
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return out


def test_resubmission_during_verification_wins(stage, provider):
    """The race: a new submission written between the verifier's read and write."""
    email = "race@example.com"
    record, body = submit(stage, email)
    new_body = dict(body, address="1 New Street")

    def resubmit():
        from chalicelib.config import settings
        from chalicelib.http.validation import parse_submission
        from chalicelib.services import store

        store().save(TENANT, parse_submission(new_body, "local", TENANT, settings()))

    provider.before_answer = resubmit
    stage.manager.poller("verify_records").poll_once()  # the first delivery: result must be dropped
    rec = current(email)
    assert rec.validation_status == "pending" and rec.verify is True
    assert rec.submission_id != record.submission_id and rec.address == "1 New Street"
    stage.manager.drain()
    rec = current(email)
    assert rec.validation_status == "verified" and rec.address == "1 New Street"
    notes = [n for n in stage.notifications() if n["message"]["email"] == email]
    assert len(notes) == 1
    decisions = [e for e in audit(email) if e["to"] != "pending"]
    assert [e["submission_id"] for e in decisions] == [rec.submission_id]


def test_replayed_batch_gives_one_identity_update_and_one_notification(stage, provider):
    from chalice.local import LambdaContext

    import app as app_module

    email = "replay@example.com"
    submit(stage, email)
    stage.manager.drain()
    assert len([n for n in stage.notifications() if n["message"]["email"] == email]) == 1
    before = identity(email)
    ddbs = boto3.client("dynamodbstreams", endpoint_url=stage.endpoint, region_name=REGION)
    event = {"Records": stream_records(ddbs, stage, [f"{TENANT}#{email}"])}
    ctx = LambdaContext("notify", 256)
    for _ in range(2):
        assert app_module.notify_decisions(event, ctx) == {"batchItemFailures": []}
        assert app_module.update_identity(event, ctx) == {"batchItemFailures": []}
    assert [n for n in stage.notifications() if n["message"]["email"] == email] == []
    after = identity(email)
    assert after.decision_id == before.decision_id and after.decided_time == before.decided_time
    assert len([e for e in audit(email) if e["to"] == "verified"]) == 1


def test_manual_decision_notifies_and_updates_identity(stage, provider):
    from chalicelib.domain.submission import ManualDecision
    from chalicelib.services import store

    email = "manual@example.com"
    submit(stage, email)
    stage.manager.drain()
    stage.notifications()
    store().decide_manually(
        TENANT,
        email,
        ManualDecision("Driving license", "D1234-5678", "rejected", "document looks altered"),
        "admin-sub",
    )
    stage.manager.drain()
    ident = identity(email)
    assert ident.validation_status == "rejected" and ident.decided_by == "admin:admin-sub"
    assert ident.reasons == ["document looks altered"]
    notes = [n["message"] for n in stage.notifications() if n["message"]["email"] == email]
    assert [(n["validation_status"], n["decided_by"]) for n in notes] == [("rejected", "admin:admin-sub")]
    assert audit(email)[-1]["from"] == "verified" and audit(email)[-1]["to"] == "rejected"


def test_remove_and_non_verify_events_are_ignored(stage, provider):
    from chalice.local import LambdaContext

    import app as app_module

    keys = {"tenant#email": {"S": f"{TENANT}#gone@example.com"}, "id_type#id": {"S": "Passport#X1"}}
    image = {**keys, "verify": {"BOOL": False}, "validation_status": {"S": "verified"}}
    event = {
        "Records": [
            {
                "eventID": "1",
                "eventName": "REMOVE",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "eventVersion": "1.1",
                "eventSourceARN": stage.outputs["KycTableStreamArn"],
                "dynamodb": {
                    "Keys": keys,
                    "OldImage": image,
                    "SequenceNumber": "1",
                    "SizeBytes": 10,
                    "ApproximateCreationDateTime": 1713597971,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            },
            {
                "eventID": "2",
                "eventName": "MODIFY",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "eventVersion": "1.1",
                "eventSourceARN": stage.outputs["KycTableStreamArn"],
                "dynamodb": {
                    "Keys": keys,
                    "OldImage": image,
                    "NewImage": image,
                    "SequenceNumber": "2",
                    "SizeBytes": 10,
                    "ApproximateCreationDateTime": 1713597971,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            },
        ]
    }
    ctx = LambdaContext("h", 256)
    assert app_module.verify_records(event, ctx) == {"batchItemFailures": []}
    assert app_module.notify_decisions(event, ctx) == {"batchItemFailures": []}
    assert app_module.update_identity(event, ctx) == {"batchItemFailures": []}
    assert provider.calls == []


def test_no_pii_in_logs(stage, provider, capfd, caplog):
    """Submissions, decisions, identity updates and notifications log hashed keys only."""
    import logging

    caplog.set_level(logging.INFO)  # the stages run at LOG_LEVEL INFO; botocore DEBUG wire logs are never on
    email = "private.person@example.com"
    _, body = submit(
        stage, email, first_name="Zebulon", last_name="Quixotic", id_value="Q9876-5432", date_of_birth="1977-07-17"
    )
    provider.documents[body["document_links"][0]["key"]] = textract_fields(
        first="ZEBULON", last="QUIXOTE", dob="07/17/1977", number="Q9876-5432"
    )
    stage.manager.drain()
    assert current(email, id_value="Q9876-5432").validation_status != "pending"
    out, err = capfd.readouterr()
    text = out + err + caplog.text
    assert "decision written" in text  # the pipeline did log
    for secret in (email, "private.person", "Zebulon", "ZEBULON", "Quixot", "Q9876", "1977-07-17", "07/17/1977"):
        assert secret not in text
