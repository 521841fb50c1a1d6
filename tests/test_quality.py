"""The quality gates (chalicelib/domain/quality.py) on DetectFaces responses AWS recorded
(../shared/fixtures/aws/rekognition) and on the decision."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from chalicelib.domain.decision import decide
from chalicelib.domain.quality import quality_check
from chalicelib.providers.aws import quality_of
from chalicelib.providers.port import FaceComparison, FaceQuality, IdReading
from tests import recorded

RECORDED = [
    ("aws/rekognition/awscli_detect_faces_output.json", "FaceDetails"),
    ("aws/rekognition/rekdg_detect_faces_response.json", "FaceDetails"),
    ("aws/rekognition/riv_detect_faces_lambda_output.json", "FaceDetail"),
]


def _detail(path: str, key: str) -> dict:
    data = recorded.load(path)
    return data[key][0] if key == "FaceDetails" else data[key]


@pytest.mark.parametrize("path,key", RECORDED)
def test_recorded_genuine_selfies_pass_the_aws_gates(path, key):
    check, retake = quality_check(quality_of(_detail(path, key)))
    assert check["passed"] and retake == []
    assert set(check["gates"]) == {"confidence", "size", "yaw", "pitch", "sunglasses"}


@pytest.mark.parametrize(
    "change,words",
    [
        (lambda d: d.update(Sunglasses={"Value": True, "Confidence": 99.0}), "sunglasses"),
        (lambda d: d["Pose"].update(Yaw=44.0), "turned"),
        (lambda d: d["Pose"].update(Pitch=-41.0), "tilted"),
        (lambda d: d["BoundingBox"].update(Height=0.05), "too small"),
        (lambda d: d.update(Confidence=71.0), "not clear"),
    ],
)
def test_each_failed_aws_gate_says_what_to_retake(change, words):
    detail = copy.deepcopy(_detail(*RECORDED[0]))
    change(detail)
    check, retake = quality_check(quality_of(detail))
    assert not check["passed"] and len(retake) == 1 and words in retake[0]


def _reading():
    from chalicelib.providers.port import reading_from_analyze_id
    from tests.pipeline_support import textract_fields

    return reading_from_analyze_id(textract_fields())


SUBMITTED = {
    "first_name": "Ashish",
    "last_name": "Palankar",
    "date_of_birth": "1990-04-20",
    "id_type": "Driving license",
    "id_value": "D1234-5678",
}


def test_a_failed_gate_asks_for_review_and_a_passed_one_changes_nothing():
    good = FaceQuality("selfhosted", size=0.3, yaw=2.0, sharpness=400.0)
    blurred = FaceQuality("selfhosted", size=0.3, yaw=2.0, sharpness=12.0)
    today = dt.date(2026, 1, 1)
    ok = decide(SUBMITTED, FaceComparison(99.0, 1, 1, quality=good), _reading(), 95, 80, today)
    assert ok.status == "verified" and ok.checks["quality"]["passed"]
    bad = decide(SUBMITTED, FaceComparison(99.0, 1, 1, quality=blurred), _reading(), 95, 80, today)
    assert bad.status == "needs_review"
    assert bad.reasons == ["the selfie is blurred; retake it holding the camera still (review)"]
    assert isinstance(_reading(), IdReading)
