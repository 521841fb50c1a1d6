"""The automatic decision: every rule, every threshold edge, reasons and checks."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.decision import Decision, decide, decide_unusable
from chalicelib.providers import FaceComparison, IdReading, reading_from_analyze_id

TODAY = date(2026, 6, 15)
VERIFY, REVIEW = 95.0, 80.0

SUBMITTED = {
    "first_name": "José", "last_name": "Muñoz-García", "middle_name": "",
    "date_of_birth": "1957-01-12", "id_type": "Driving license", "id_value": "S123-456-57-901-0",
}

DOCUMENT = {
    "FIRST_NAME": ("JOSE", None),
    "LAST_NAME": ("MUNOZ GARCIA", None),
    "DATE_OF_BIRTH": ("01/12/1957", "1957-01-12T00:00:00"),
    "DOCUMENT_NUMBER": ("S123456579010", None),
    "EXPIRATION_DATE": ("01/12/2030", "2030-01-12T00:00:00"),
}


def _reading(overrides: dict | None = None, drop: tuple = (), mismatched: list | None = None,
             ) -> IdReading:
    fields = {**DOCUMENT, **(overrides or {})}
    items = []
    for name, (text, normalized) in fields.items():
        if name in drop:
            continue
        value = {"Text": text, "Confidence": 97.5}
        if normalized:
            value["NormalizedValue"] = {"Value": normalized, "ValueType": "Date"}
        items.append({"Type": {"Text": name}, "ValueDetection": value})
    response = {"IdentityDocuments": [{"DocumentIndex": 1, "IdentityDocumentFields": items}],
                "DocumentMetadata": {"Pages": 1}, "AnalyzeIDModelVersion": "1.0"}
    if mismatched:
        response["KycConsistency"] = {"mismatched_fields": mismatched}
    return reading_from_analyze_id(response)


def _face(similarity=99.1, source=1, target=1) -> FaceComparison:
    return FaceComparison(similarity=similarity, source_face_count=source, target_face_count=target)


def _decide(face=None, reading=None, submitted=None, **kwargs) -> Decision:
    return decide({**SUBMITTED, **(submitted or {})}, face or _face(), reading or _reading(),
                  VERIFY, REVIEW, TODAY, **kwargs)


# --- verified ----------------------------------------------------------------------------------

def test_everything_matching_is_verified_with_full_checks():
    decision = _decide()
    assert decision.status == "verified"
    assert decision.reasons == []
    assert decision.checks == {
        "face_match": {"passed": True, "similarity": 99.1, "source_face_count": 1,
                       "target_face_count": 1},
        "details_match": {"passed": True, "fields": {
            "FIRST_NAME": {"submitted": "José", "document": "JOSE", "passed": True, "outcome": "match"},
            "LAST_NAME": {"submitted": "Muñoz-García", "document": "MUNOZ GARCIA", "passed": True,
                          "outcome": "match"},
            "DATE_OF_BIRTH": {"submitted": "1957-01-12", "document": "1957-01-12", "passed": True,
                              "outcome": "match"},
            "DOCUMENT_NUMBER": {"submitted": "S123-456-57-901-0", "document": "S123456579010",
                                "passed": True, "outcome": "match"},
            "EXPIRATION_DATE": {"document": "2030-01-12", "passed": True, "outcome": "in_date"},
        }},
    }


def test_ghost_photo_on_the_id_is_fine():
    assert _decide(face=_face(target=2)).status == "verified"


def test_middle_name_on_one_side_only_is_verified():
    reading = _reading({"FIRST_NAME": ("JOSE LUIS", None)})
    assert _decide(reading=reading).status == "verified"
    assert _decide(submitted={"middle_name": "Luis"}).status == "verified"


def test_document_expiring_today_is_in_date():
    reading = _reading({"EXPIRATION_DATE": ("06/15/2026", None)})
    assert _decide(reading=reading).status == "verified"


# --- similarity bands --------------------------------------------------------------------------

@pytest.mark.parametrize("similarity,status", [
    (100.0, "verified"),
    (95.0, "verified"),
    (94.99, "needs_review"),
    (80.0, "needs_review"),
    (79.99, "rejected"),
    (0.0, "rejected"),
])
def test_similarity_bands(similarity, status):
    decision = _decide(face=_face(similarity))
    assert decision.status == status
    assert decision.checks["face_match"]["passed"] is (status == "verified")


def test_review_band_reason_never_rounds_up_to_the_threshold():
    decision = _decide(face=_face(94.99))
    assert decision.reasons == [
        "the selfie resembles the ID photo but not closely enough to verify (similarity 94.9) (review)"]


def test_low_similarity_reason():
    assert _decide(face=_face(42.0)).reasons == [
        "the selfie does not match the ID photo (similarity 42.0)"]


def test_thresholds_are_parameters():
    face, reading = _face(90.0), _reading()
    assert decide(SUBMITTED, face, reading, 90.0, 70.0, TODAY).status == "verified"
    assert decide(SUBMITTED, face, reading, 99.0, 91.0, TODAY).status == "rejected"


def test_review_threshold_above_verify_threshold_is_refused():
    with pytest.raises(ValueError):
        decide(SUBMITTED, _face(), _reading(), 80.0, 95.0, TODAY)


# --- faces -------------------------------------------------------------------------------------

@pytest.mark.parametrize("face,reason", [
    (_face(None, source=0, target=0), "the selfie shows no face; exactly one is required"),
    (_face(None, source=2, target=0), "the selfie shows 2 faces; exactly one is required"),
    (_face(None, source=1, target=0), "no face was found on the ID photo"),
])
def test_face_count_problems_reject(face, reason):
    decision = _decide(face=face)
    assert decision.status == "rejected"
    assert decision.reasons == [reason]
    assert decision.checks["face_match"]["passed"] is False


def test_missing_similarity_with_faces_present_needs_review():
    decision = _decide(face=_face(None, source=1, target=1))
    assert decision.status == "needs_review"
    assert decision.reasons == ["the selfie could not be compared with the ID photo (review)"]


# --- fields ------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides,reason", [
    ({"FIRST_NAME": ("JUAN", None)}, "first name differs from the document"),
    ({"LAST_NAME": ("SMITH", None)}, "last name differs from the document"),
    ({"DATE_OF_BIRTH": ("01/13/1957", "1957-01-13T00:00:00")}, "date of birth differs from the document"),
    ({"DOCUMENT_NUMBER": ("D99887766", None)}, "document number differs from the document"),
])
def test_clear_field_mismatch_rejects(overrides, reason):
    decision = _decide(reading=_reading(overrides))
    assert decision.status == "rejected"
    assert decision.reasons == [reason]
    assert decision.checks["details_match"]["passed"] is False
    field = next(iter(overrides))
    assert decision.checks["details_match"]["fields"][field]["outcome"] == "mismatch"


@pytest.mark.parametrize("overrides,reason", [
    ({"FIRST_NAME": ("JOSF", None)},
     "first name is close to but not the same as the document's (review)"),
    ({"LAST_NAME": ("MUNOZ GARClA", None)},
     "last name is close to but not the same as the document's (review)"),
    ({"DOCUMENT_NUMBER": ("5123456579010", None)},
     "document number is close to but not the same as the document's (review)"),
    ({"DATE_OF_BIRTH": ("12/01/1957", None)},
     "date of birth matches the document only with day and month read the other way (review)"),
])
def test_near_miss_needs_review(overrides, reason):
    decision = _decide(reading=_reading(overrides))
    assert decision.status == "needs_review"
    assert decision.reasons == [reason]
    field = next(iter(overrides))
    assert decision.checks["details_match"]["fields"][field] | {"submitted": None, "document": None} == {
        "submitted": None, "document": None, "passed": False, "outcome": "near_miss"}


@pytest.mark.parametrize("field,words", [
    ("FIRST_NAME", "first name"), ("LAST_NAME", "last name"),
    ("DATE_OF_BIRTH", "date of birth"), ("DOCUMENT_NUMBER", "document number"),
])
def test_required_field_missing_needs_review(field, words):
    decision = _decide(reading=_reading(drop=(field,)))
    assert decision.status == "needs_review"
    assert decision.reasons == [f"{words} could not be read from the document (review)"]
    assert decision.checks["details_match"]["fields"][field]["outcome"] == "missing"


def test_unreadable_date_of_birth_needs_review():
    decision = _decide(reading=_reading({"DATE_OF_BIRTH": ("1?/3?/19S7", None)}))
    assert decision.status == "needs_review"
    assert decision.checks["details_match"]["fields"]["DATE_OF_BIRTH"]["document"] == "1?/3?/19S7"


def test_passport_dates_are_read_day_first():
    reading = _reading({"DATE_OF_BIRTH": ("12/01/1957", None)})
    assert _decide(reading=reading, submitted={"id_type": "Passport"}).status == "verified"
    assert _decide(reading=reading, date_convention="day-first").status == "verified"
    assert _decide(reading=reading).status == "needs_review"  # a licence is read month-first


# --- expiry ------------------------------------------------------------------------------------

def test_expired_document_rejects():
    decision = _decide(reading=_reading({"EXPIRATION_DATE": ("01/31/2020", "2020-01-31T00:00:00")}))
    assert decision.status == "rejected"
    assert decision.reasons == ["the document expired on 2020-01-31"]
    assert decision.checks["details_match"]["fields"]["EXPIRATION_DATE"] == {
        "document": "2020-01-31", "passed": False, "outcome": "expired"}


def test_expired_yesterday_rejects():
    reading = _reading({"EXPIRATION_DATE": ("06/14/2026", None)})
    assert _decide(reading=reading).reasons == ["the document expired on 2026-06-14"]


def test_missing_expiry_needs_review():
    decision = _decide(reading=_reading(drop=("EXPIRATION_DATE",)))
    assert decision.status == "needs_review"
    assert decision.reasons == ["the document's expiry date could not be read (review)"]


# --- consistency -------------------------------------------------------------------------------

def test_consistency_mismatch_needs_review_naming_the_fields():
    decision = _decide(reading=_reading(mismatched=["DATE_OF_BIRTH", "DOCUMENT_NUMBER"]))
    assert decision.status == "needs_review"
    assert decision.reasons == [
        "the document's machine-readable data disagrees with its printed date of birth, "
        "document number; possible tampering (review)"]
    details = decision.checks["details_match"]
    assert details["passed"] is False
    assert details["consistency"] == {"passed": False,
                                      "mismatched_fields": ["DATE_OF_BIRTH", "DOCUMENT_NUMBER"]}


def test_no_consistency_key_without_mismatch():
    assert "consistency" not in _decide().checks["details_match"]


# --- combinations and order ----------------------------------------------------------------------

def test_reject_wins_over_review_and_reasons_keep_a_fixed_order():
    reading = _reading({"LAST_NAME": ("MUNOZ GARClA", None),
                        "DATE_OF_BIRTH": ("01/13/1957", "1957-01-13T00:00:00"),
                        "EXPIRATION_DATE": ("01/31/2020", "2020-01-31T00:00:00")},
                       drop=("DOCUMENT_NUMBER",), mismatched=["DATE_OF_BIRTH"])
    decision = _decide(face=_face(88.0), reading=reading)
    assert decision.status == "rejected"
    assert decision.reasons == [
        "the selfie resembles the ID photo but not closely enough to verify (similarity 88.0) (review)",
        "last name is close to but not the same as the document's (review)",
        "date of birth differs from the document",
        "document number could not be read from the document (review)",
        "the document expired on 2020-01-31",
        "the document's machine-readable data disagrees with its printed date of birth; "
        "possible tampering (review)",
    ]
    assert _decide(face=_face(88.0), reading=reading).reasons == decision.reasons


def test_review_band_with_a_near_miss_stays_needs_review():
    decision = _decide(face=_face(85.0), reading=_reading({"FIRST_NAME": ("JOSF", None)}))
    assert decision.status == "needs_review"
    assert len(decision.reasons) == 2


def test_reasons_do_not_quote_personal_values():
    reading = _reading({"LAST_NAME": ("SMITH", None), "DOCUMENT_NUMBER": ("D99887766", None)})
    text = " ".join(_decide(reading=reading).reasons).lower()
    for value in ("smith", "muñoz", "munoz", "d99887766", "s123", "1957"):
        assert value not in text


def test_empty_reading_needs_review_for_every_field():
    decision = _decide(reading=IdReading())
    assert decision.status == "needs_review"
    assert len(decision.reasons) == 5


# --- unusable input ----------------------------------------------------------------------------

@pytest.mark.parametrize("review,status", [(False, "rejected"), (True, "needs_review")])
def test_decide_unusable(review, status):
    decision = decide_unusable("the image is too large to be processed", review)
    assert decision == Decision(status, ["the image is too large to be processed"], {})
