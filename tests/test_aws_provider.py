"""AwsProvider against botocore Stubber-ed Rekognition and Textract clients.

Responses are shaped like the documented AWS ones; the Stubber checks both the
request parameters and the response shapes against the service models.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from chalicelib.providers.aws import AwsProvider
from chalicelib.providers.port import (
    FaceComparison,
    ImageRef,
    ProviderThrottled,
    UnusableInput,
    reading_from_analyze_id,
)

BUCKET = "test-kyc-documents"
SELFIE = ImageRef(BUCKET, "acme/uploads/selfie.jpg")
FRONT = ImageRef(BUCKET, "acme/uploads/front.png")
BACK = ImageRef(BUCKET, "acme/uploads/back.png")


def _client(service: str):
    return boto3.session.Session().client(
        service, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def rekognition():
    client = _client("rekognition")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


@pytest.fixture
def textract():
    client = _client("textract")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _provider(rek=None, tex=None) -> AwsProvider:
    return AwsProvider(rekognition=rek, textract=tex)


def _s3(ref: ImageRef) -> dict:
    return {"S3Object": {"Bucket": ref.bucket, "Name": ref.key}}


# --- documented response shapes -------------------------------------------------------------


def _box(left=0.3, top=0.2) -> dict:
    return {"Width": 0.25, "Height": 0.35, "Left": left, "Top": top}


def _face_detail(left=0.3) -> dict:
    return {
        "BoundingBox": _box(left),
        "Landmarks": [
            {"Type": "eyeLeft", "X": left + 0.07, "Y": 0.33},
            {"Type": "eyeRight", "X": left + 0.17, "Y": 0.33},
            {"Type": "mouthLeft", "X": left + 0.08, "Y": 0.45},
            {"Type": "mouthRight", "X": left + 0.16, "Y": 0.45},
            {"Type": "nose", "X": left + 0.12, "Y": 0.39},
        ],
        "Pose": {"Roll": -1.8, "Yaw": 3.2, "Pitch": 6.5},
        "Quality": {"Brightness": 81.3, "Sharpness": 92.2},
        "Confidence": 99.99,
    }


def _detect_faces_response(count: int) -> dict:
    return {"FaceDetails": [_face_detail(0.1 + 0.3 * i) for i in range(count)]}


def _compared_face(left=0.3) -> dict:
    detail = _face_detail(left)
    return {k: detail[k] for k in ("BoundingBox", "Confidence", "Landmarks", "Pose", "Quality")}


def _compare_faces_response(similarities: list[float], unmatched: int = 0) -> dict:
    return {
        "SourceImageFace": {"BoundingBox": _box(), "Confidence": 99.98},
        "FaceMatches": [{"Similarity": s, "Face": _compared_face(0.05 + 0.4 * i)} for i, s in enumerate(similarities)],
        "UnmatchedFaces": [_compared_face(0.6) for _ in range(unmatched)],
    }


def _id_field(name: str, text: str, confidence: float, normalized: str | None = None) -> dict:
    value = {"Text": text, "Confidence": confidence}
    if normalized:
        value["NormalizedValue"] = {"Value": normalized, "ValueType": "Date"}
    return {"Type": {"Text": name}, "ValueDetection": value}


ANALYZE_ID_RESPONSE = {
    "IdentityDocuments": [
        {
            "DocumentIndex": 1,
            "IdentityDocumentFields": [
                _id_field("FIRST_NAME", "JOHN", 98.7),
                _id_field("LAST_NAME", "SAMPLE", 98.3),
                _id_field("MIDDLE_NAME", "", 99.1),
                _id_field("SUFFIX", "", 99.0),
                _id_field("DOCUMENT_NUMBER", "S123-456-57-901-0", 96.1),
                _id_field("EXPIRATION_DATE", "01/12/2030", 97.9, "2030-01-12T00:00:00"),
                _id_field("DATE_OF_BIRTH", "01/12/1957", 97.0, "1957-01-12T00:00:00"),
                _id_field("STATE_NAME", "FLORIDA", 98.8),
                _id_field("ID_TYPE", "DRIVER LICENSE FRONT", 98.9),
            ],
        }
    ],
    "DocumentMetadata": {"Pages": 2},
    "AnalyzeIDModelVersion": "1.0",
}


# --- compare_faces ---------------------------------------------------------------------------


def _core(result: FaceComparison) -> tuple:
    """What the face check reads: similarity and face counts (quality and portrait tested apart)."""
    return result.similarity, result.source_face_count, result.target_face_count


def _expect_detect(stub, count: int) -> None:
    stub.add_response(
        "detect_faces", _detect_faces_response(count), {"Image": _s3(SELFIE), "Attributes": ["DEFAULT", "SUNGLASSES"]}
    )


def _expect_compare(stub, response: dict) -> None:
    stub.add_response(
        "compare_faces", response, {"SourceImage": _s3(SELFIE), "TargetImage": _s3(FRONT), "SimilarityThreshold": 0}
    )


def test_match_returns_best_similarity_and_counts_target_faces(rekognition):
    client, stub = rekognition
    _expect_detect(stub, 1)
    _expect_compare(stub, _compare_faces_response([99.1, 12.5], unmatched=1))
    result = _provider(client).compare_faces(SELFIE, FRONT)
    assert _core(result) == _core(FaceComparison(similarity=99.1, source_face_count=1, target_face_count=3))


def test_no_match_keeps_low_similarity(rekognition):
    client, stub = rekognition
    _expect_detect(stub, 1)
    _expect_compare(stub, _compare_faces_response([7.25]))
    result = _provider(client).compare_faces(SELFIE, FRONT)
    assert _core(result) == _core(FaceComparison(similarity=7.25, source_face_count=1, target_face_count=1))


def test_no_face_on_the_id_gives_no_similarity(rekognition):
    client, stub = rekognition
    _expect_detect(stub, 1)
    _expect_compare(stub, _compare_faces_response([]))
    result = _provider(client).compare_faces(SELFIE, FRONT)
    assert _core(result) == _core(FaceComparison(similarity=None, source_face_count=1, target_face_count=0))


@pytest.mark.parametrize("count", [0, 2])
def test_selfie_without_exactly_one_face_skips_compare_faces(rekognition, count):
    client, stub = rekognition
    _expect_detect(stub, count)  # a CompareFaces call would fail: none is stubbed
    result = _provider(client).compare_faces(SELFIE, FRONT)
    assert result.similarity is None
    assert result.source_face_count == count


def test_one_retry_policy_botocore_standard_mode_on_every_client(env):
    """The adapter has no retry loop of its own: botocore's standard mode (backoff with
    jitter) is the one policy, set once on every client."""
    from chalicelib import aws

    for service in ("rekognition", "textract"):
        assert aws.client(service).meta.config.retries == {"mode": "standard", "total_max_attempts": 6}


def test_still_throttled_after_botocore_retries_raises_provider_throttled_at_once(rekognition):
    client, stub = rekognition
    stub.add_client_error(
        "detect_faces", "ThrottlingException", "Rate exceeded", 400, response_meta={"RetryAttempts": 4}
    )
    with pytest.raises(ProviderThrottled) as caught:
        _provider(client).compare_faces(SELFIE, FRONT)
    assert "after 4 retries" in str(caught.value)
    stub.assert_no_pending_responses()  # one call: nothing retried on top of botocore


def test_server_errors_are_throttling_too(rekognition):
    client, stub = rekognition
    _expect_detect(stub, 1)
    stub.add_client_error("compare_faces", "InternalServerError", "oops", 500)
    with pytest.raises(ProviderThrottled):
        _provider(client).compare_faces(SELFIE, FRONT)


def test_invalid_parameter_becomes_unusable_input(rekognition):
    client, stub = rekognition
    _expect_detect(stub, 1)
    stub.add_client_error("compare_faces", "InvalidParameterException", "Request has invalid parameters", 400)
    with pytest.raises(UnusableInput) as caught:
        _provider(client).compare_faces(SELFIE, FRONT)
    assert "face" in caught.value.reason
    assert caught.value.review is False


@pytest.mark.parametrize(
    "code,review",
    [
        ("InvalidImageFormatException", False),
        ("ImageTooLargeException", False),
        ("InvalidS3ObjectException", True),
    ],
)
def test_image_errors_become_unusable_input(rekognition, code, review):
    client, stub = rekognition
    stub.add_client_error("detect_faces", code, "bad image", 400)
    with pytest.raises(UnusableInput) as caught:
        _provider(client).compare_faces(SELFIE, FRONT)
    assert caught.value.review is review


def test_other_errors_propagate_unchanged(rekognition):
    client, stub = rekognition
    stub.add_client_error("detect_faces", "AccessDeniedException", "denied", 403)
    with pytest.raises(ClientError) as caught:
        _provider(client).compare_faces(SELFIE, FRONT)
    assert not isinstance(caught.value, (ProviderThrottled, UnusableInput))


# --- analyze_id ------------------------------------------------------------------------------


def test_analyze_id_sends_both_pages_and_returns_the_response(textract):
    client, stub = textract
    stub.add_response("analyze_id", ANALYZE_ID_RESPONSE, {"DocumentPages": [_s3(FRONT), _s3(BACK)]})
    response = _provider(tex=client).analyze_id(FRONT, BACK)
    assert response == ANALYZE_ID_RESPONSE
    reading = reading_from_analyze_id(response)
    assert reading.fields["DATE_OF_BIRTH"].normalized == "1957-01-12"
    assert reading.fields["DOCUMENT_NUMBER"].value == "S123-456-57-901-0"
    assert "MIDDLE_NAME" not in reading.fields


def test_analyze_id_front_only(textract):
    client, stub = textract
    stub.add_response("analyze_id", ANALYZE_ID_RESPONSE, {"DocumentPages": [_s3(FRONT)]})
    assert _provider(tex=client).analyze_id(FRONT)["DocumentMetadata"] == {"Pages": 2}


def test_analyze_id_limit_exceeded_is_throttling(textract):
    client, stub = textract
    stub.add_client_error("analyze_id", "LimitExceededException", "limit", 400)
    with pytest.raises(ProviderThrottled):
        _provider(tex=client).analyze_id(FRONT)


@pytest.mark.parametrize(
    "code",
    ["UnsupportedDocumentException", "BadDocumentException", "DocumentTooLargeException", "InvalidParameterException"],
)
def test_analyze_id_document_errors_become_unusable_input(textract, code):
    client, stub = textract
    stub.add_client_error("analyze_id", code, "cannot read", 400)
    with pytest.raises(UnusableInput) as caught:
        _provider(tex=client).analyze_id(FRONT)
    assert caught.value.reason and "cannot read" not in caught.value.reason


# --- clients -----------------------------------------------------------------------------------


def test_clients_are_created_lazily_through_chalicelib_aws(monkeypatch):
    import chalicelib.aws

    created = []
    monkeypatch.setattr(chalicelib.aws, "client", lambda service: created.append(service) or service)
    provider = AwsProvider()
    assert provider.name == "aws" and created == []
    assert provider.rekognition == "rekognition"
    assert provider.textract == "textract"
    assert provider.rekognition == "rekognition"
    assert created == ["rekognition", "textract"]


# --- what AWS really returned (../shared/fixtures/aws), through the adapter ---------------------

RECORDED_ANALYZE_ID = [
    "nava-passport-with-mrz",
    "textractor-fake-id",
    "trp-drivers-license",
    "trp-no-document",
    "trp-passport",
    "trp-sample1",
    "trp-two-documents",
]


def _recorded(relative: str) -> dict:
    from tests.recorded import load

    return load(relative)


@pytest.mark.parametrize("name", RECORDED_ANALYZE_ID)
def test_recorded_analyze_id_responses_through_the_adapter(textract, name):
    client, stub = textract
    recorded = _recorded(f"aws/analyze-id/{name}.json")
    stub.add_response("analyze_id", recorded, {"DocumentPages": [_s3(FRONT), _s3(BACK)]})
    response = _provider(tex=client).analyze_id(FRONT, BACK, claim={"last_name": "ignored"})
    assert "ResponseMetadata" not in response
    reading = reading_from_analyze_id(response)
    documents = recorded.get("IdentityDocuments") or []
    assert reading.documents == len(documents)
    for document in documents:  # every non-empty field of every document is a reading
        for item in document["IdentityDocumentFields"]:
            text = item["ValueDetection"]["Text"].strip()
            readings = reading.readings.get(item["Type"]["Text"], [])
            assert bool(text) == any(r.value == text and r.document == document["DocumentIndex"] for r in readings)
    for name_, items in reading.readings.items():
        assert reading.fields[name_] == items[0]
        assert [r.confidence for r in items] == sorted((r.confidence for r in items), reverse=True)


def test_recorded_us_licences_through_the_adapter(textract):
    from tests.recorded import LICENCES, licence_states

    client, stub = textract
    states = licence_states()
    for state in states:
        stub.add_response("analyze_id", _recorded(f"{LICENCES}/{state}.json"), {"DocumentPages": [_s3(FRONT)]})
    provider = _provider(tex=client)
    for state in states:
        reading = reading_from_analyze_id(provider.analyze_id(FRONT))
        assert reading.documents == 1
        assert {"FIRST_NAME", "DATE_OF_BIRTH", "DOCUMENT_NUMBER", "EXPIRATION_DATE"} <= set(reading.fields), state


def test_recorded_mrz_code_is_kept_with_its_line_break(textract):
    client, stub = textract
    stub.add_response(
        "analyze_id", _recorded("aws/analyze-id/nava-passport-with-mrz.json"), {"DocumentPages": [_s3(FRONT)]}
    )
    reading = reading_from_analyze_id(_provider(tex=client).analyze_id(FRONT))
    assert reading.fields["MRZ_CODE"].value.count("\n") == 1


@pytest.mark.parametrize(
    "detect,compare,expected",
    [
        ("awscli_detect_faces_output", "awscli_compare_faces_output", FaceComparison(100.0, 1, 1)),
        ("rekdg_detect_faces_response", "rekdg_compare_faces_response", FaceComparison(100.0, 1, 2)),
    ],
)
def test_recorded_rekognition_responses_through_the_adapter(rekognition, detect, compare, expected):
    client, stub = rekognition
    stub.add_response(
        "detect_faces",
        _recorded(f"aws/rekognition/{detect}.json"),
        {"Image": _s3(SELFIE), "Attributes": ["DEFAULT", "SUNGLASSES"]},
    )
    stub.add_response(
        "compare_faces",
        _recorded(f"aws/rekognition/{compare}.json"),
        {"SourceImage": _s3(SELFIE), "TargetImage": _s3(FRONT), "SimilarityThreshold": 0},
    )
    result = _provider(client).compare_faces(SELFIE, FRONT)
    assert _core(result) == _core(expected)
    # the quality gates' measurements and the ID portrait's box, from the same recorded responses
    detail = _recorded(f"aws/rekognition/{detect}.json")["FaceDetails"][0]
    assert result.quality.size == pytest.approx(detail["BoundingBox"]["Height"])
    assert result.quality.yaw == pytest.approx(detail["Pose"]["Yaw"])
    assert result.quality.confidence == pytest.approx(detail["Confidence"])
    best = max(_recorded(f"aws/rekognition/{compare}.json")["FaceMatches"], key=lambda m: m["Similarity"])
    assert result.portrait.box == pytest.approx(best["Face"]["BoundingBox"])


def test_recorded_face_detail_of_a_two_face_selfie_skips_compare_faces(rekognition):
    """riv_detect_faces_lambda_output.json holds one recorded FaceDetail (a Lambda's output,
    not a whole response): two of it make a DetectFaces response of a selfie with two faces."""
    client, stub = rekognition
    detail = _recorded("aws/rekognition/riv_detect_faces_lambda_output.json")["FaceDetail"]
    stub.add_response(
        "detect_faces",
        {"FaceDetails": [detail, detail]},
        {"Image": _s3(SELFIE), "Attributes": ["DEFAULT", "SUNGLASSES"]},
    )
    assert _provider(client).compare_faces(SELFIE, FRONT) == FaceComparison(None, 2, 0)
