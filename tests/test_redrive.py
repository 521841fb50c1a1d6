"""Re-driving the stream failure queue (chalicelib/handlers/redrive.py, `python -m kyc_service
redrive`): the local pollers put Lambda's on-failure records on `{stage}-kyc-stream-failures` when a
handler's retries run out; redrive reads the batch back from the stream and re-queues it, or marks
it needs_review once its verification failed for good. No record stays pending."""

from __future__ import annotations

import json
import os
from unittest import mock

import pytest

from chalicelib.providers.port import ProviderThrottled
from tests.test_pipeline import TENANT, current, identity, submit


@pytest.fixture
def failures(stage):
    """The failure queue, emptied of what earlier modules left."""
    url = stage.sqs.get_queue_url(QueueName="local-kyc-stream-failures")["QueueUrl"]
    while messages := stage.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            stage.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return url


def queued(stage, url) -> list[dict]:
    attrs = stage.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def test_a_verification_that_fails_for_good_ends_in_needs_review(stage, provider, failures):
    from chalicelib.handlers import redrive

    email = "stuck@example.com"
    _, body = submit(stage, email)
    provider.faces[body["document_links"][1]["key"]] = ProviderThrottled("Rekognition keeps throttling")
    stage.manager.drain()  # 1 + 3 retries, then the on-failure record
    assert current(email).validation_status == "pending" and queued(stage, failures) == 1

    seen = []
    for attempt in (1, 2):
        totals = redrive.run(report=seen.append)
        assert totals["requeued"] == 1 and totals["messages"] == 1
        assert current(email).redrive_count == attempt and current(email).validation_status == "pending"
        stage.manager.drain()  # the verifier gets it again, fails again
        assert queued(stage, failures) == 1
    totals = redrive.run(report=seen.append)
    assert totals["needs_review"] == 1 and queued(stage, failures) == 0
    stage.manager.drain()
    record = current(email)
    assert record.validation_status == "needs_review" and record.reasons == [redrive.GAVE_UP]
    assert record.checks.as_dict()["verification"]["error"] == "retries_exhausted" and record.verify is False
    assert identity(email).validation_status == "needs_review"  # a decision like any other
    notes = [n["message"] for n in stage.notifications() if n["message"].get("email") == email]
    assert [n["validation_status"] for n in notes] == ["needs_review"]
    assert [d.action for d in seen] == ["requeued", "requeued", "needs_review"]
    assert all(email not in json.dumps(d.to_dict()) for d in seen)  # a hashed reference only


def test_a_transient_failure_is_verified_once_re_driven(stage, provider, failures):
    from chalicelib.handlers import redrive

    email = "transient@example.com"
    _, body = submit(stage, email)
    provider.faces[body["document_links"][1]["key"]] = ProviderThrottled("throttled for a while")
    stage.manager.drain()
    del provider.faces[body["document_links"][1]["key"]]  # the provider is back
    assert redrive.run()["requeued"] == 1
    stage.manager.drain()
    assert current(email).validation_status == "verified" and queued(stage, failures) == 0
    assert redrive.run() == {"messages": 0, "failed_messages": 0}  # nothing left: nothing done


def test_identity_failures_run_again_and_a_trimmed_batch_is_found_in_the_table(stage, provider, failures, monkeypatch):
    from chalicelib.aws import client
    from chalicelib.handlers import identity as identity_handler
    from chalicelib.handlers import redrive

    email = "identity.down@example.com"
    real = identity_handler.update_identity

    def down(new):
        raise RuntimeError("identity table unavailable")

    monkeypatch.setattr(identity_handler, "update_identity", down)
    submit(stage, email)
    stage.manager.drain()
    assert current(email).validation_status == "verified" and queued(stage, failures) >= 1
    monkeypatch.setattr(identity_handler, "update_identity", real)

    class Trimmed:
        """The stream a day later: the records of the batch are gone (AWS keeps them 24 h)."""

        def __init__(self, streams):
            self.exceptions = streams.exceptions

        def get_shard_iterator(self, **kwargs):
            raise self.exceptions.TrimmedDataAccessException(
                {"Error": {"Code": "TrimmedDataAccessException", "Message": "trimmed"}}, "GetShardIterator"
            )

    trimmed = Trimmed(client("dynamodbstreams"))
    real_client = client
    monkeypatch.setattr(
        redrive.aws, "client", lambda service: trimmed if service == "dynamodbstreams" else real_client(service)
    )
    totals = redrive.run()
    assert totals.get("reapplied", 0) >= 1 and totals["failed_messages"] == 0
    assert identity(email).validation_status == "verified"


def test_the_redrive_command_says_what_it_did(stage, provider, failures, capsys):
    from chalicelib import config
    from kyc_service import cli

    email = "command@example.com"
    _, body = submit(stage, email)
    provider.faces[body["document_links"][1]["key"]] = ProviderThrottled("throttled")
    stage.manager.drain()
    port = stage.endpoint.rsplit(":", 1)[1]
    with mock.patch.dict(os.environ):
        code = cli.main(["redrive", "--aws-port", port, "--max-redrives", "0"])
    config.reset()
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert json.loads(out[0])["action"] == "needs_review" and json.loads(out[0])["handler"] == "verify_records"
    assert "1 failed batch(es) read: 1 needs_review" in out[-1] and email not in "\n".join(out)
    stage.manager.drain()
    assert current(email).validation_status == "needs_review"


def test_handler_names_from_function_arns():
    from chalicelib.handlers.redrive import handler_of

    arn = "arn:aws:lambda:us-east-1:123456789012:function:kyc-service-prod-verify_records"
    assert handler_of(arn, "prod") == "verify_records"
    assert handler_of(arn, "dev") is None
    assert handler_of("arn:aws:lambda:us-east-1:1:function:kyc-service-prod-check_license", "prod") is None
    assert TENANT == "acme"
