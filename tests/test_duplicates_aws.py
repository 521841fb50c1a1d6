"""The duplicate check on the AWS path: the same pipeline as the local stack (moto server, the app's
stream handlers), with Rekognition and Textract under botocore's Stubber (moto has no
IndexFaces, SearchFacesByImage, CreateCollection or DeleteFaces). DetectFaces and CompareFaces
answer with responses AWS recorded (../shared/fixtures/aws); the collection calls with responses
shaped as the Rekognition API reference documents them. The expected parameters pin the tenant's
own collection on every call: another tenant's collection is never named."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import ANY, Stubber

from tests import recorded
from tests.pipeline_support import textract_fields

TENANT, OTHER = "awsdupes", "awsother"
FACE_ID = "38271d79-7bc2-5efb-b752-398a8d575b85"
BOX = {"Width": 0.2, "Height": 0.3, "Left": 0.4, "Top": 0.25}


def _face(external_id: str, face_id: str = FACE_ID) -> dict:
    return {
        "FaceId": face_id,
        "BoundingBox": BOX,
        "ImageId": "d5631190-d039-54e4-b267-abd22c8647c5",
        "ExternalImageId": external_id,
        "Confidence": 99.99,
        "IndexFacesModelVersion": "7.0",
    }


def _index_response(external_id: str) -> dict:
    return {"FaceRecords": [{"Face": _face(external_id)}], "FaceModelVersion": "7.0", "UnindexedFaces": []}


def _search_response(matches: list[tuple[str, float]]) -> dict:
    return {
        "SearchedFaceBoundingBox": BOX,
        "SearchedFaceConfidence": 99.99,
        "FaceMatches": [{"Similarity": s, "Face": _face(e)} for e, s in matches],
        "FaceModelVersion": "7.0",
    }


@pytest.fixture
def aws_path(stage, monkeypatch):
    import datetime as dt

    from chalicelib import aws
    from chalicelib.providers.aws import AwsProvider
    from chalicelib.storage.tenants import save_overrides

    monkeypatch.setattr("chalicelib.handlers.verifier.utc_today", lambda: dt.date(2026, 1, 1))
    rekognition = boto3.client("rekognition", region_name="us-east-1")
    textract = boto3.client("textract", region_name="us-east-1")
    monkeypatch.setattr("chalicelib.services.provider", lambda: AwsProvider(rekognition=rekognition, textract=textract))
    real_client = aws.client
    monkeypatch.setattr(
        aws, "client", lambda name, *a, **k: rekognition if name == "rekognition" else real_client(name)
    )
    for tenant in (TENANT, OTHER):
        save_overrides(tenant, {"duplicate_check": True})
    with Stubber(rekognition) as rek, Stubber(textract) as tex:
        yield stage, rek, tex
    for tenant in (TENANT, OTHER):
        save_overrides(tenant, {})


def _collection(tenant: str) -> str:
    return f"local-kyc-{tenant}"


def _apply(stage, rek, tex, tenant, email, number, search, index=None):
    """One application: the verifier's calls, the duplicate search's answer (`search`: a response,
    or an error code), and where the decision is verified, the indexing's calls (`index`)."""
    from chalicelib.config import settings
    from chalicelib.http.validation import parse_submission
    from chalicelib.services import store

    bucket = settings().bucket
    front, selfie = stage.upload(tenant, "id_front"), stage.upload(tenant, "selfie")
    image = lambda key: {"S3Object": {"Bucket": bucket, "Name": key}}  # noqa: E731
    pinned_front = stage.evidence_key(tenant, email, "id_front", front)
    pinned_selfie = stage.evidence_key(tenant, email, "selfie", selfie)
    rek.add_response(
        "detect_faces",
        recorded.load("aws/rekognition/awscli_detect_faces_output.json"),
        {"Image": image(pinned_selfie), "Attributes": ["DEFAULT", "SUNGLASSES"]},
    )
    rek.add_response(
        "compare_faces",
        recorded.load("aws/rekognition/awscli_compare_faces_output.json"),
        {"SourceImage": image(pinned_selfie), "TargetImage": image(pinned_front), "SimilarityThreshold": 0},
    )
    tex.add_response("analyze_id", textract_fields(number=number), {"DocumentPages": [image(pinned_front)]})
    search_params = {
        "CollectionId": _collection(tenant),
        "Image": image(pinned_selfie),
        "MaxFaces": 10,
        "FaceMatchThreshold": 80.0,
        "QualityFilter": "NONE",
    }
    if isinstance(search, str):
        rek.add_client_error("search_faces_by_image", service_error_code=search, expected_params=search_params)
    else:
        rek.add_response("search_faces_by_image", search, search_params)
    index_params = {
        "CollectionId": _collection(tenant),
        "Image": image(pinned_selfie),
        "ExternalImageId": ANY,
        "MaxFaces": 1,
        "QualityFilter": "AUTO",
        "DetectionAttributes": [],
    }
    if index == "new collection":
        rek.add_client_error(
            "index_faces", service_error_code="ResourceNotFoundException", expected_params=index_params
        )
        rek.add_response("create_collection", _created(tenant), {"CollectionId": _collection(tenant)})
    if index is not None:
        from chalicelib.keys import owner_ref

        rek.add_response("index_faces", _index_response(owner_ref(email)), index_params)
    body = {
        "email": email,
        "first_name": "Ashish",
        "last_name": "Palankar",
        "date_of_birth": "1990-04-20",
        "id_type": "Driving license",
        "id_value": number,
        "document_links": [{"kind": "id_front", "key": front}, {"kind": "selfie", "key": selfie}],
    }
    store().save(tenant, parse_submission(body, "local", tenant, settings()))
    stage.manager.drain()
    stage.manager.drain()
    rek.assert_no_pending_responses()
    tex.assert_no_pending_responses()
    return store().get(tenant, email, "Driving license", number)


def _created(tenant: str) -> dict:
    return {
        "StatusCode": 200,
        "CollectionArn": f"aws:rekognition:us-east-1:123456789012:collection/{_collection(tenant)}",
        "FaceModelVersion": "7.0",
    }


def test_the_aws_path_finds_the_same_face_in_the_tenant_only_and_erasure_deletes_it(aws_path):
    from chalicelib.keys import owner_ref
    from chalicelib.storage import faces
    from chalicelib.storage.erasure import erase
    from chalicelib.storage.models import plain

    stage, rek, tex = aws_path
    first = _apply(stage, rek, tex, TENANT, "first@example.com", "A100", "ResourceNotFoundException", "new collection")
    assert first.validation_status == "verified", first.reasons
    [entry] = faces.of_customer(TENANT, "first@example.com")
    assert entry.face_ids == (FACE_ID,) and entry.collection == _collection(TENANT) and entry.embedding is None
    # the ID portrait on the AWS path: the ID front's evidence and the matched face's bounding box
    [portrait] = [link for link in map(plain, first.document_links) if link["kind"] == "id_portrait"]
    compared = recorded.load("aws/rekognition/awscli_compare_faces_output.json")["FaceMatches"][0]["Face"]
    assert portrait["bounding_box"] == pytest.approx(compared["BoundingBox"])
    assert portrait["evidence_key"].startswith("evidence/documents/")

    # the same face, another customer of the tenant: SearchFacesByImage finds the first one's
    second = _apply(
        stage,
        rek,
        tex,
        TENANT,
        "second@example.com",
        "A200",
        _search_response([(owner_ref("first@example.com"), 99.4)]),
    )
    assert second.validation_status == "needs_review"
    assert second.checks.as_dict()["duplicate"]["matched"] == [
        {"ref": owner_ref("first@example.com"), "via": "face", "similarity": 99.4}
    ]
    # the customer's own face (a resubmission) is never a duplicate of themselves
    again = _apply(
        stage,
        rek,
        tex,
        TENANT,
        "first@example.com",
        "A101",
        _search_response([(owner_ref("first@example.com"), 99.9)]),
        "same",
    )
    assert again.validation_status == "verified", again.reasons

    # another tenant: its own collection (the expected CollectionId above), made on first use
    other = _apply(stage, rek, tex, OTHER, "first@example.com", "A100", "ResourceNotFoundException", "new collection")
    assert other.validation_status == "verified", other.reasons

    # erasure: DeleteFaces on the tenant's collection for each of the customer's faces, then nothing left
    for _ in faces.of_customer(TENANT, "first@example.com"):
        rek.add_response(
            "delete_faces",
            {"DeletedFaces": [FACE_ID]},
            {"CollectionId": _collection(TENANT), "FaceIds": [FACE_ID]},
        )
    assert erase(TENANT, "first@example.com", by="admin:test") is not None
    rek.assert_no_pending_responses()
    assert faces.of_customer(TENANT, "first@example.com") == []
    assert len(faces.of_customer(OTHER, "first@example.com")) == 1
