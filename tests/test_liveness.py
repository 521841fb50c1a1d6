"""Liveness (issue 16): the route and the verifier on a local stage (moto server, the app's stream
handlers). AWS path: Rekognition Face Liveness under botocore's Stubber (moto has no liveness API),
with responses shaped as the API reference documents GetFaceLivenessSessionResults and
CreateFaceLivenessSession. Self-hosted: no liveness engine, reported honestly: 400
`liveness_unavailable` on the route, and a decision that says so and asks for review."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.stub import Stubber

from tests import recorded
from tests.pipeline_support import textract_fields

TENANT = "live"
SESSION = "2f1c2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ROUTE = f"/kyc/stage/local/tenant/{TENANT}/liveness"


def _hdr(token: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}


@pytest.fixture
def rek(stage, monkeypatch):
    from chalicelib.providers.aws import AwsProvider
    from chalicelib.storage.tenants import save_overrides

    monkeypatch.setattr("chalicelib.handlers.verifier.utc_today", lambda: dt.date(2026, 1, 1))
    rekognition = boto3.client("rekognition", region_name="us-east-1")
    textract = boto3.client("textract", region_name="us-east-1")
    monkeypatch.setattr("chalicelib.services.provider", lambda: AwsProvider(rekognition=rekognition, textract=textract))
    save_overrides(TENANT, {"require_liveness": True})
    with Stubber(rekognition) as r, Stubber(textract) as t:
        yield r, t
    save_overrides(TENANT, {})


@pytest.fixture
def http(stage, env, issuer):
    from tests.erasure_support import api_client

    with api_client(env, issuer) as client:
        yield client


def test_the_route_creates_a_session_writing_under_the_customers_biometric_prefix(rek, http, issuer):
    from chalicelib.config import settings
    from chalicelib.keys import liveness_prefix

    r, _ = rek
    r.add_response(
        "create_face_liveness_session",
        {"SessionId": SESSION},
        {
            "Settings": {
                "OutputConfig": {
                    "S3Bucket": settings().bucket,
                    "S3KeyPrefix": liveness_prefix(TENANT, "ana@example.com"),
                },
                "AuditImagesLimit": 0,
            }
        },
    )
    answer = http.http.post(ROUTE, headers=_hdr(issuer.token(tenant=TENANT, email="ana@example.com")), body="")
    assert answer.status_code == 201, answer.body
    assert answer.json_body == {"session_id": SESSION}
    r.assert_no_pending_responses()
    # another tenant's token: 403; an unknown field: 400; a user naming another customer: 403
    assert http.http.post(ROUTE, headers=_hdr(issuer.token(tenant="acme")), body="").status_code == 403
    bad = http.http.post(ROUTE, headers=_hdr(issuer.token(tenant=TENANT)), body=json.dumps({"x": 1}))
    assert bad.status_code == 400 and bad.json_body["error"]["code"] == "invalid_input"
    other = json.dumps({"email": "bob@example.com"})
    assert http.http.post(ROUTE, headers=_hdr(issuer.token(tenant=TENANT)), body=other).status_code == 403


def test_five_failures_in_three_minutes_pause_the_route(rek, http, issuer):
    from chalicelib.storage.liveness import record_failure

    for i in range(5):
        record_failure(TENANT, "fails@example.com", f"{SESSION[:-1]}{i}")
    answer = http.http.post(ROUTE, headers=_hdr(issuer.token(tenant=TENANT, email="fails@example.com")), body="")
    assert answer.status_code == 429 and answer.json_body["error"]["code"] == "throttled"


def test_the_self_hosted_provider_has_no_liveness_and_says_so(stage, http, issuer, monkeypatch):
    from chalicelib.providers.port import liveness_of
    from kyc_service.engines.adapter import SelfHostedProvider

    assert liveness_of(SelfHostedProvider()) is None
    monkeypatch.setattr("chalicelib.services.provider", SelfHostedProvider)
    answer = http.http.post(ROUTE, headers=_hdr(issuer.token(tenant=TENANT, email="ana@example.com")), body="")
    assert answer.status_code == 400 and answer.json_body["error"]["code"] == "liveness_unavailable"


def _apply(stage, email: str, links: list[dict]):
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
        "document_links": links,
    }
    store().save(TENANT, parse_submission(body, "local", TENANT, settings()))
    stage.manager.drain()
    return store().get(TENANT, email, "Driving license", "D1234-5678")


def _result(status: str, confidence: float, key: str) -> dict:
    from chalicelib.config import settings

    box = {"Width": 0.3, "Height": 0.45, "Left": 0.35, "Top": 0.2}
    return {
        "SessionId": SESSION,
        "Status": status,
        "Confidence": confidence,
        "ReferenceImage": {"S3Object": {"Bucket": settings().bucket, "Name": key}, "BoundingBox": box},
        "AuditImages": [],
    }


def test_a_succeeded_session_is_the_selfie_the_face_match_uses(stage, rek):
    from chalicelib.config import settings
    from chalicelib.keys import liveness_prefix

    r, t = rek
    email = "live-ok@example.com"
    front = stage.upload(TENANT, "id_front")
    reference = f"{liveness_prefix(TENANT, email)}{SESSION}/reference.jpg"
    image = lambda key: {"S3Object": {"Bucket": settings().bucket, "Name": key}}  # noqa: E731
    pinned_front = stage.evidence_key(TENANT, email, "id_front", front)
    r.add_response("get_face_liveness_session_results", _result("SUCCEEDED", 98.6, reference), {"SessionId": SESSION})
    r.add_response(
        "detect_faces",
        recorded.load("aws/rekognition/awscli_detect_faces_output.json"),
        {"Image": image(reference), "Attributes": ["DEFAULT", "SUNGLASSES"]},
    )
    r.add_response(
        "compare_faces",
        recorded.load("aws/rekognition/awscli_compare_faces_output.json"),
        {"SourceImage": image(reference), "TargetImage": image(pinned_front), "SimilarityThreshold": 0},
    )
    t.add_response("analyze_id", textract_fields(), {"DocumentPages": [image(pinned_front)]})
    record = _apply(stage, email, [{"kind": "id_front", "key": front}, {"kind": "liveness", "session_id": SESSION}])
    r.assert_no_pending_responses()
    checks = record.checks.as_dict()
    assert record.validation_status == "verified", record.reasons
    assert checks["liveness"]["passed"] is True and float(checks["liveness"]["confidence"]) == pytest.approx(98.6)
    assert checks["evidence"]["selfie"]["evidence_key"] == reference


@pytest.mark.parametrize(
    "status,confidence,owner,words",
    [
        ("SUCCEEDED", 41.0, None, "did not confirm a live person"),
        ("EXPIRED", 0.0, None, "not completed"),
        ("SUCCEEDED", 99.0, "someone-else@example.com", "does not belong"),
    ],
)
def test_a_failed_expired_or_foreign_session_is_rejected_without_a_face_match(
    stage, rek, status, confidence, owner, words
):
    from chalicelib.keys import liveness_prefix
    from chalicelib.storage.liveness import recent_failures

    r, _ = rek
    email = f"live-{status.lower()}-{int(confidence)}@example.com"
    reference = f"{liveness_prefix(TENANT, owner or email)}{SESSION}/reference.jpg"
    r.add_response("get_face_liveness_session_results", _result(status, confidence, reference), {"SessionId": SESSION})
    front = stage.upload(TENANT, "id_front")
    record = _apply(stage, email, [{"kind": "id_front", "key": front}, {"kind": "liveness", "session_id": SESSION}])
    r.assert_no_pending_responses()  # no DetectFaces, no CompareFaces
    assert record.validation_status == "rejected"
    assert any(words in reason for reason in record.reasons), record.reasons
    assert record.checks.as_dict()["liveness"]["passed"] is False
    assert recent_failures(TENANT, email) == (0 if owner else 1)


def test_a_required_liveness_on_the_self_hosted_path_asks_for_review(stage, provider):
    """The fake provider of the port, like the self-hosted one, has no liveness engine: the face
    match still runs on the selfie, and the decision says liveness could not be checked."""
    from chalicelib.storage.tenants import save_overrides

    save_overrides(TENANT, {"require_liveness": True})
    try:
        links = [{"kind": "id_front", "key": stage.upload(TENANT, "id_front")}]
        links.append({"kind": "selfie", "key": stage.upload(TENANT, "selfie")})
        record = _apply(stage, "no-engine@example.com", links)
    finally:
        save_overrides(TENANT, {})
    assert record.validation_status == "needs_review"
    assert record.checks.as_dict()["liveness"] == {"passed": False, "confidence": None, "available": False}
    assert record.checks.as_dict()["face_match"]["passed"] is True
    assert any("liveness check is required but this service cannot perform one" in r for r in record.reasons)


def test_a_liveness_link_must_name_a_session():
    from chalicelib.config import settings
    from chalicelib.errors import InvalidInput
    from chalicelib.http.validation import parse_submission

    base = {
        "email": "a@example.com",
        "first_name": "A",
        "last_name": "B",
        "date_of_birth": "1990-01-01",
        "id_type": "Passport",
        "id_value": "P1",
    }
    for link in (
        {"kind": "liveness"},
        {"kind": "liveness", "session_id": "x"},
        {"kind": "liveness", "session_id": SESSION, "key": "k"},
    ):
        with pytest.raises(InvalidInput):
            parse_submission({**base, "document_links": [link]}, "local", TENANT, settings())
    ok = parse_submission(
        {**base, "document_links": [{"kind": "liveness", "session_id": SESSION}]}, "local", TENANT, settings()
    )
    assert ok.document_links == [{"kind": "liveness", "session_id": SESSION}]
