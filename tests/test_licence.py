"""The third-party licence check of bundle records: queue, validator, decision, dead letters.
A real HTTP validator on 127.0.0.1 (tests.test_bundles.Validator); the app's handlers on moto server."""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager

import pytest

from chalicelib.handlers import licence
from tests.test_bundles import ROW, TENANT, bundle, drop, new_uuid, records_for


def notes_for(stage, email: str) -> list[str]:
    return [n["message"]["validation_status"] for n in stage.notifications() if n["message"]["email"] == email]


@pytest.fixture
def required(env):
    env.set(KYC_LICENSE_CHECK_REQUIRED="true")


@contextmanager
def visibility(stage, seconds: int):
    """The licence queue's visibility timeout (300 s) shortened so retries happen within a test."""
    url = stage.sqs.get_queue_url(QueueName="local-license-queue")["QueueUrl"]
    stage.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(seconds)})
    try:
        yield url
    finally:
        stage.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "300"})


def test_decision_waits_for_a_valid_licence_when_required(stage, provider, validator, required):
    validator.reset(answer={"valid": True, "reference": "x"})
    app_uuid = new_uuid()
    stage.s3.put_object(
        Bucket=stage.outputs["DocumentBucketName"], Key=f"zipped/{TENANT}/{app_uuid}.zip", Body=bundle(app_uuid)
    )
    for _ in range(5):  # intake and the verifier only: the licence message stays queued
        stage.manager.poller("intake_bundle").poll_once()
        stage.manager.poller("verify_records").poll_once()
    [rec] = records_for(app_uuid)
    assert rec.validation_status == "pending" and rec.verify is False and rec.decision_id is None
    assert rec.checks.as_dict()["license_validation"]["status"] == "pending"
    assert rec.checks.as_dict()["face_match"]["passed"] is True

    stage.manager.drain()
    [rec] = records_for(app_uuid)
    lv = rec.checks.as_dict()["license_validation"]
    assert rec.validation_status == "verified" and rec.decision_id and rec.decided_by == "system"
    assert lv["passed"] is True and lv["answer"] == {"valid": True} and lv["checked_at"]
    assert notes_for(stage, app_uuid) == ["verified"]
    assert validator.requests[0]["body"] == {
        "driver_license_id": "D1234-5678",
        "uuid": app_uuid,
        "validation_override": None,
    }


def test_invalid_licence_rejects_with_a_reason_when_required(stage, provider, validator, required):
    validator.reset(answer={"valid": False})
    app_uuid = new_uuid()
    drop(stage, app_uuid, bundle(app_uuid))
    [rec] = records_for(app_uuid)
    assert rec.validation_status == "rejected" and rec.reasons == [licence.FAILED_REASON]
    assert rec.checks.as_dict()["license_validation"]["passed"] is False
    assert rec.checks.as_dict()["face_match"]["passed"] is True
    assert notes_for(stage, app_uuid) == ["rejected"]


def test_invalid_licence_turns_a_written_decision_into_rejected_when_not_required(stage, provider, validator):
    validator.reset(answer={"valid": False})
    app_uuid = new_uuid()
    drop(stage, app_uuid, bundle(app_uuid))
    [rec] = records_for(app_uuid)
    assert rec.validation_status == "rejected" and licence.FAILED_REASON in rec.reasons
    assert notes_for(stage, app_uuid) == ["verified", "rejected"]


def test_validator_down_retries_then_dead_letter_marks_needs_review(stage, provider, validator, required):
    validator.reset(status=503)
    app_uuid = new_uuid()
    with visibility(stage, 1):
        drop(stage, app_uuid, bundle(app_uuid))
        for _ in range(12):  # each failed receive makes the message visible again 1 s later
            if records_for(app_uuid)[0].validation_status != "pending":
                break
            time.sleep(1.1)
            stage.manager.drain()
    assert len(validator.requests) == 5  # maxReceiveCount 5, then moto moves it to the DLQ
    [rec] = records_for(app_uuid)
    assert rec.validation_status == "needs_review" and rec.reasons == [licence.UNAVAILABLE_REASON]
    assert rec.decision_id and rec.checks.as_dict()["license_validation"]["status"] == "error"
    assert notes_for(stage, app_uuid) == ["needs_review"]
    dlq = stage.sqs.get_queue_url(QueueName="local-license-dlq")["QueueUrl"]
    assert stage.sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=0).get("Messages", []) == []


def test_override_honoured_outside_production(stage, provider, validator):
    validator.reset()  # echoes validation_override like the seeds' mock
    app_uuid = new_uuid()
    drop(stage, app_uuid, bundle(app_uuid, {**ROW, "VALIDATION_OVERRIDE": "false"}))
    assert validator.requests[0]["body"]["validation_override"] is False
    [rec] = records_for(app_uuid)
    assert rec.validation_status == "rejected"


def test_override_ignored_in_production(stage, provider, validator, env):
    env.set(KYC_PRODUCTION="true")
    validator.reset()
    app_uuid = new_uuid()
    drop(stage, app_uuid, bundle(app_uuid, {**ROW, "VALIDATION_OVERRIDE": "false"}))
    assert "validation_override" not in validator.requests[0]["body"]
    [rec] = records_for(app_uuid)
    assert rec.validation_status == "verified"


def test_redelivery_and_stale_messages_change_nothing(stage, provider, validator, required):
    validator.reset()
    app_uuid = new_uuid()
    drop(stage, app_uuid, bundle(app_uuid))
    [rec] = records_for(app_uuid)
    message = licence.message_for(rec, production=False)
    sqs_record = {"messageId": "m-1", "body": json.dumps(message)}
    stale = {"messageId": "m-2", "body": json.dumps({**message, "submission_id": "old"})}
    junk = {"messageId": "m-3", "body": "not json"}
    assert licence.handle_batch({"Records": [sqs_record, stale, junk]}) == {"batchItemFailures": []}
    assert licence.handle_dead_letters({"Records": [sqs_record]}) == {"batchItemFailures": []}
    [again] = records_for(app_uuid)
    assert again.version == rec.version and again.validation_status == "verified"
    assert len(validator.requests) == 1


def test_validator_failure_is_a_partial_batch_failure(stage, provider, validator, required):
    validator.reset(status=500)
    app_uuid = new_uuid()
    stage.s3.put_object(
        Bucket=stage.outputs["DocumentBucketName"], Key=f"zipped/{TENANT}/{app_uuid}.zip", Body=bundle(app_uuid)
    )
    for _ in range(5):
        stage.manager.poller("intake_bundle").poll_once()
        stage.manager.poller("verify_records").poll_once()
    [rec] = records_for(app_uuid)
    good = {"messageId": "ok", "body": "{}"}
    bad = {"messageId": "down", "body": json.dumps(licence.message_for(rec, production=False))}
    assert licence.handle_batch({"Records": [good, bad]}) == {"batchItemFailures": [{"itemIdentifier": "down"}]}
    validator.reset()
    assert licence.handle_batch({"Records": [bad]}) == {"batchItemFailures": []}
    assert records_for(app_uuid)[0].validation_status == "verified"


# -- the validator client ----------------------------------------------------------------

MESSAGE = {"driver_license_id": "D1", "uuid": "u-1", "validation_override": True}


def test_validator_client_answers_and_errors(validator, env):
    from chalicelib.config import settings

    env.set(KYC_LICENSE_VALIDATOR_TOKEN="s3cret", KYC_LICENSE_VALIDATOR_TIMEOUT="0.5")
    configured = licence.Validator.of(settings())
    validator.reset(answer={"valid": True, "message": "ok", "holder": {"name": "dropped"}})
    assert licence.call_validator(MESSAGE, configured) == {"valid": True, "message": "ok"}
    assert validator.requests[0]["authorization"] == "Bearer s3cret"
    for status, error in (
        (503, licence.ValidatorUnavailable),
        (429, licence.ValidatorUnavailable),
        (400, licence.CheckImpossible),
    ):
        validator.reset(status=status)
        with pytest.raises(error):
            licence.call_validator(MESSAGE, configured)
    validator.reset(answer={"ok": "yes"})
    with pytest.raises(licence.ValidatorUnavailable):
        licence.call_validator(MESSAGE, configured)
    validator.reset(delay=1.5)
    with pytest.raises(licence.ValidatorUnavailable):
        licence.call_validator(MESSAGE, configured)
    validator.reset()
    env.unset("KYC_LICENSE_VALIDATOR_URL")
    with pytest.raises(licence.CheckImpossible):
        licence.call_validator(MESSAGE, licence.Validator.of(settings()))


# -- the seeds' mock validator route -------------------------------------------------------


@pytest.fixture
def app_client(monkeypatch):
    from chalice.test import Client

    import app as app_module
    from chalicelib.stage import ROOT

    monkeypatch.chdir(ROOT)
    with Client(app_module.app, stage_name="local") as c:
        yield c


def test_mock_validator_echoes_the_override_outside_production(app_client, env):
    env.set(KYC_PRODUCTION="false")
    for override, valid in ((False, False), (True, True), (None, True)):
        r = app_client.http.post(
            "/mock/license-validator",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"driver_license_id": "D1", "uuid": "u", "validation_override": override}),
        )
        assert r.status_code == 200 and json.loads(r.body) == {"valid": valid}
    r = app_client.http.post("/mock/license-validator", body=b"[not json")
    assert r.status_code == 400 and json.loads(r.body)["error"]["code"] == "invalid_input"


def test_mock_validator_is_absent_in_production(app_client, env):
    env.set(KYC_PRODUCTION="true")
    r = app_client.http.post("/mock/license-validator", body=json.dumps({"validation_override": True}))
    assert r.status_code == 404 and json.loads(r.body)["error"]["code"] == "not_found"
    assert os.environ["KYC_PRODUCTION"] == "true"


def test_licence_answer_never_overwrites_an_admin_decision(aws_env, issuer):
    """A record waiting for its licence check is decided by hand; the late answer is kept
    with the checks and the admin's decision stands (no new decision, no new notification)."""
    from chalicelib.config import settings
    from chalicelib.domain.submission import ManualDecision
    from chalicelib.http.validation import parse_submission
    from chalicelib.services import store
    from chalicelib.storage.models import tables

    body = {
        "email": "late@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_of_birth": "1990-04-20",
        "id_type": "Driving license",
        "id_value": "D1234-5678",
    }
    s = settings()
    record, _, _ = store().save("acme", parse_submission(body, s.stage, "acme", s), source="bundle")
    kyc = tables().kyc
    record.update(
        actions=[
            kyc.verify.set(False),
            kyc.checks.set(
                {"license_validation": {"status": "pending", "decision_waits": True, "automatic_status": "verified"}}
            ),
        ]
    )
    decided = store().decide_manually(
        "acme", "late@example.com", ManualDecision("Driving license", "D1234-5678", "rejected", "forged"), "adm"
    )
    message = {
        "tenant": "acme",
        "email": "late@example.com",
        "id_type": "Driving license",
        "driver_license_id": "D1234-5678",
        "submission_id": record.submission_id,
    }
    assert licence.apply_result(message, "verified", {"passed": True, "status": "passed"}, None) == "written"
    after = store().get("acme", "late@example.com", "Driving license", "D1234-5678")
    assert (after.validation_status, after.decided_by, after.decision_id) == (
        "rejected",
        "admin:adm",
        decided.decision_id,
    )
    assert after.checks.as_dict()["license_validation"]["status"] == "passed"
    assert list(after.reasons) == ["forged"]
