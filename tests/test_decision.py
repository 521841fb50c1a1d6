"""The automatic decision: every rule, every threshold edge, reasons and checks."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.domain.decision import Decision, decide, decide_unusable
from chalicelib.providers.port import FaceComparison, IdReading, reading_from_analyze_id

TODAY = date(2026, 6, 15)
VERIFY, REVIEW = 95.0, 80.0

SUBMITTED = {
    "first_name": "José",
    "last_name": "Muñoz-García",
    "middle_name": "",
    "date_of_birth": "1957-01-12",
    "id_type": "Driving license",
    "id_value": "S123-456-57-901-0",
}

DOCUMENT = {
    "FIRST_NAME": ("JOSE", None),
    "LAST_NAME": ("MUNOZ GARCIA", None),
    "DATE_OF_BIRTH": ("01/12/1957", "1957-01-12T00:00:00"),
    "DOCUMENT_NUMBER": ("S123456579010", None),
    "EXPIRATION_DATE": ("01/12/2030", "2030-01-12T00:00:00"),
}


def _reading(
    overrides: dict | None = None, drop: tuple = (), mismatched: list | None = None, confidence: float = 97.5
) -> IdReading:
    fields = {**DOCUMENT, **(overrides or {})}
    items = []
    for name, (text, normalized) in fields.items():
        if name in drop:
            continue
        value = {"Text": text, "Confidence": confidence if name in (overrides or {}) else 97.5}
        if normalized:
            value["NormalizedValue"] = {"Value": normalized, "ValueType": "Date"}
        items.append({"Type": {"Text": name}, "ValueDetection": value})
    response = {
        "IdentityDocuments": [{"DocumentIndex": 1, "IdentityDocumentFields": items}],
        "DocumentMetadata": {"Pages": 1},
        "AnalyzeIDModelVersion": "1.0",
    }
    if mismatched:
        response["KycConsistency"] = {"mismatched_fields": mismatched}
    return reading_from_analyze_id(response)


def _face(similarity=99.1, source=1, target=1) -> FaceComparison:
    return FaceComparison(similarity=similarity, source_face_count=source, target_face_count=target)


def _decide(face=None, reading=None, submitted=None, **kwargs) -> Decision:
    return decide(
        {**SUBMITTED, **(submitted or {})}, face or _face(), reading or _reading(), VERIFY, REVIEW, TODAY, **kwargs
    )


# --- verified ----------------------------------------------------------------------------------


def test_everything_matching_is_verified_with_full_checks():
    decision = _decide()
    assert decision.status == "verified"
    assert decision.reasons == []
    assert decision.checks == {
        "face_match": {"passed": True, "similarity": 99.1, "source_face_count": 1, "target_face_count": 1},
        "details_match": {
            "passed": True,
            "fields": {
                "FIRST_NAME": {
                    "submitted": "José",
                    "document": "JOSE",
                    "passed": True,
                    "outcome": "match",
                    "confidence": 97.5,
                },
                "LAST_NAME": {
                    "submitted": "Muñoz-García",
                    "document": "MUNOZ GARCIA",
                    "passed": True,
                    "outcome": "match",
                    "confidence": 97.5,
                },
                "DATE_OF_BIRTH": {
                    "submitted": "1957-01-12",
                    "document": "1957-01-12",
                    "passed": True,
                    "outcome": "match",
                    "confidence": 97.5,
                },
                "DOCUMENT_NUMBER": {
                    "submitted": "S123-456-57-901-0",
                    "document": "S123456579010",
                    "passed": True,
                    "outcome": "match",
                    "confidence": 97.5,
                },
                "EXPIRATION_DATE": {"document": "2030-01-12", "passed": True, "outcome": "in_date", "confidence": 97.5},
            },
        },
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


@pytest.mark.parametrize(
    "similarity,status",
    [
        (100.0, "verified"),
        (95.0, "verified"),
        (94.99, "needs_review"),
        (80.0, "needs_review"),
        (79.99, "rejected"),
        (0.0, "rejected"),
    ],
)
def test_similarity_bands(similarity, status):
    decision = _decide(face=_face(similarity))
    assert decision.status == status
    assert decision.checks["face_match"]["passed"] is (status == "verified")


def test_review_band_reason_never_rounds_up_to_the_threshold():
    decision = _decide(face=_face(94.99))
    assert decision.reasons == [
        "the selfie resembles the ID photo but not closely enough to verify (similarity 94.9) (review)"
    ]


def test_low_similarity_reason():
    assert _decide(face=_face(42.0)).reasons == ["the selfie does not match the ID photo (similarity 42.0)"]


def test_thresholds_are_parameters():
    face, reading = _face(90.0), _reading()
    assert decide(SUBMITTED, face, reading, 90.0, 70.0, TODAY).status == "verified"
    assert decide(SUBMITTED, face, reading, 99.0, 91.0, TODAY).status == "rejected"


def test_review_threshold_above_verify_threshold_is_refused():
    with pytest.raises(ValueError):
        decide(SUBMITTED, _face(), _reading(), 80.0, 95.0, TODAY)


# --- faces -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "face,reason",
    [
        (_face(None, source=0, target=0), "the selfie shows no face; exactly one is required"),
        (_face(None, source=2, target=0), "the selfie shows 2 faces; exactly one is required"),
        (_face(None, source=1, target=0), "no face was found on the ID photo"),
    ],
)
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


@pytest.mark.parametrize(
    "overrides,reason",
    [
        ({"FIRST_NAME": ("JUAN", None)}, "first name differs from the document"),
        ({"LAST_NAME": ("SMITH", None)}, "last name differs from the document"),
        ({"DATE_OF_BIRTH": ("01/13/1957", "1957-01-13T00:00:00")}, "date of birth differs from the document"),
        ({"DOCUMENT_NUMBER": ("D99887766", None)}, "document number differs from the document"),
    ],
)
def test_clear_field_mismatch_rejects(overrides, reason):
    decision = _decide(reading=_reading(overrides))
    assert decision.status == "rejected"
    assert decision.reasons == [reason]
    assert decision.checks["details_match"]["passed"] is False
    field = next(iter(overrides))
    assert decision.checks["details_match"]["fields"][field]["outcome"] == "mismatch"


@pytest.mark.parametrize(
    "overrides,reason",
    [
        ({"FIRST_NAME": ("JOSF", None)}, "first name is close to but not the same as the document's (review)"),
        ({"LAST_NAME": ("MUNOZ GARClA", None)}, "last name is close to but not the same as the document's (review)"),
        (
            {"DOCUMENT_NUMBER": ("5123456579010", None)},
            "document number is close to but not the same as the document's (review)",
        ),
        (
            {"DATE_OF_BIRTH": ("12/01/1957", None)},
            "date of birth matches the document only with day and month read the other way (review)",
        ),
    ],
)
def test_near_miss_needs_review(overrides, reason):
    decision = _decide(reading=_reading(overrides))
    assert decision.status == "needs_review"
    assert decision.reasons == [reason]
    field = next(iter(overrides))
    assert decision.checks["details_match"]["fields"][field] | {"submitted": None, "document": None} == {
        "submitted": None,
        "document": None,
        "passed": False,
        "outcome": "near_miss",
        "confidence": 97.5,
    }


@pytest.mark.parametrize(
    "field,words",
    [
        ("FIRST_NAME", "first name"),
        ("LAST_NAME", "last name"),
        ("DATE_OF_BIRTH", "date of birth"),
        ("DOCUMENT_NUMBER", "document number"),
    ],
)
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
        "document": "2020-01-31",
        "passed": False,
        "outcome": "expired",
        "confidence": 97.5,
    }


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
        "document number; possible tampering (review)"
    ]
    details = decision.checks["details_match"]
    assert details["passed"] is False
    assert details["consistency"] == {"passed": False, "mismatched_fields": ["DATE_OF_BIRTH", "DOCUMENT_NUMBER"]}


def test_no_consistency_key_without_mismatch():
    assert "consistency" not in _decide().checks["details_match"]


# --- combinations and order ----------------------------------------------------------------------


def test_reject_wins_over_review_and_reasons_keep_a_fixed_order():
    reading = _reading(
        {
            "LAST_NAME": ("MUNOZ GARClA", None),
            "DATE_OF_BIRTH": ("01/13/1957", "1957-01-13T00:00:00"),
            "EXPIRATION_DATE": ("01/31/2020", "2020-01-31T00:00:00"),
        },
        drop=("DOCUMENT_NUMBER",),
        mismatched=["DATE_OF_BIRTH"],
    )
    decision = _decide(face=_face(88.0), reading=reading)
    assert decision.status == "rejected"
    assert decision.reasons == [
        "the selfie resembles the ID photo but not closely enough to verify (similarity 88.0) (review)",
        "last name is close to but not the same as the document's (review)",
        "date of birth differs from the document",
        "document number could not be read from the document (review)",
        "the document expired on 2020-01-31",
        "the document's machine-readable data disagrees with its printed date of birth; possible tampering (review)",
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


# --- confidence: a shaky reading that disagrees asks for review ---------------------------------


def _fields(
    overrides: dict | None = None,
    drop: tuple = (),
    confidence: dict | None = None,
) -> list[dict]:
    items = []
    for name, (text, normalized) in {**DOCUMENT, **(overrides or {})}.items():
        if name in drop:
            continue
        value = {"Text": text, "Confidence": (confidence or {}).get(name, 97.5)}
        if normalized:
            value["NormalizedValue"] = {"Value": normalized, "ValueType": "Date"}
        items.append({"Type": {"Text": name}, "ValueDetection": value})
    return items


def _response(*documents: list[dict], **extra) -> dict:
    return {
        "IdentityDocuments": [
            {"DocumentIndex": i + 1, "IdentityDocumentFields": fields} for i, fields in enumerate(documents)
        ],
        "DocumentMetadata": {"Pages": len(documents)},
        **extra,
    }


def _read(*documents: list[dict], **extra) -> IdReading:
    return reading_from_analyze_id(_response(*documents, **extra))


@pytest.mark.parametrize(
    "overrides,outcome_words",
    [
        ({"FIRST_NAME": ("JUAN", None)}, "first name"),
        ({"LAST_NAME": ("SMITH", None)}, "last name"),
        ({"DATE_OF_BIRTH": ("01/13/1957", "1957-01-13T00:00:00")}, "date of birth"),
        ({"DOCUMENT_NUMBER": ("D99887766", None)}, "document number"),
    ],
)
@pytest.mark.parametrize("confidence,status", [(85.0, "rejected"), (84.9, "needs_review"), (40.0, "needs_review")])
def test_a_disagreeing_reading_rejects_only_when_clear(overrides, outcome_words, confidence, status):
    name = next(iter(overrides))
    decision = _decide(reading=_read(_fields(overrides, confidence={name: confidence})))
    assert decision.status == status
    assert len(decision.reasons) == 1 and decision.reasons[0].startswith(outcome_words)
    field = decision.checks["details_match"]["fields"][name]
    assert field["outcome"] == ("mismatch" if status == "rejected" else "unclear")
    assert field["confidence"] == confidence and field["passed"] is False


def test_a_shaky_reading_that_agrees_still_verifies():
    reading = _read(_fields(confidence={"LAST_NAME": 42.0, "DOCUMENT_NUMBER": 60.0}))
    assert _decide(reading=reading).status == "verified"


def test_the_clear_confidence_is_a_parameter():
    reading = _read(_fields({"LAST_NAME": ("SMITH", None)}, confidence={"LAST_NAME": 90.0}))
    assert _decide(reading=reading).status == "rejected"
    assert _decide(reading=reading, clear_confidence=95.0).status == "needs_review"


@pytest.mark.parametrize(
    "confidence,status,reason",
    [
        (97.5, "rejected", "the document expired on 2020-01-31"),
        (
            72.9,
            "needs_review",
            "the document's expiry date reads as past, but not clearly enough to decide on (review)",
        ),
    ],
)
def test_an_expiry_in_the_past_rejects_only_when_read_clearly(confidence, status, reason):
    reading = _read(
        _fields({"EXPIRATION_DATE": ("01/31/2020", "2020-01-31T00:00:00")}, confidence={"EXPIRATION_DATE": confidence})
    )
    decision = _decide(reading=reading)
    assert (decision.status, decision.reasons) == (status, [reason])


def test_a_truncated_document_number_asks_for_review_even_when_clear():
    reading = _read(_fields({"DOCUMENT_NUMBER": ("S12345657", None)}))
    decision = _decide(reading=reading)
    assert decision.status == "needs_review"
    assert decision.reasons == ["document number was read from the document only in part (review)"]


# --- implausible dates are unreadable, never a mismatch -----------------------------------------


@pytest.mark.parametrize(
    "text,normalized",
    [
        ("01/12/195", "0195-01-12T00:00:00"),
        ("01/12/1857", "1857-01-12T00:00:00"),
        ("01/12/2031", "2031-01-12T00:00:00"),  # born after today
        ("01/12/1887", "1887-01-12T00:00:00"),  # 139 years before today
    ],
)
def test_an_implausible_date_of_birth_is_unreadable(text, normalized):
    decision = _decide(reading=_read(_fields({"DATE_OF_BIRTH": (text, normalized)})))
    assert decision.status == "needs_review"
    assert decision.reasons == ["date of birth could not be read from the document (review)"]
    field = decision.checks["details_match"]["fields"]["DATE_OF_BIRTH"]
    assert field["outcome"] == "unreadable" and field["document"] == text


def test_a_birth_date_after_the_clear_issue_date_is_unreadable():
    fields = _fields({"DATE_OF_BIRTH": ("01/12/1997", None), "DATE_OF_ISSUE": ("03/01/1995", "1995-03-01T00:00:00")})
    decision = _decide(reading=_read(fields))
    assert decision.status == "needs_review"
    assert decision.checks["details_match"]["fields"]["DATE_OF_BIRTH"]["outcome"] == "unreadable"


def test_an_expiry_before_the_issue_date_is_unreadable():
    fields = _fields({"EXPIRATION_DATE": ("01/12/2020", None), "DATE_OF_ISSUE": ("03/01/2022", "2022-03-01T00:00:00")})
    decision = _decide(reading=_read(fields))
    assert decision.reasons == ["the document's expiry date could not be read (review)"]


def test_an_expiry_far_beyond_any_document_life_is_unreadable():
    decision = _decide(reading=_read(_fields({"EXPIRATION_DATE": ("01/12/2190", None)})))
    assert decision.reasons == ["the document's expiry date could not be read (review)"]


def test_expiry_is_judged_against_the_given_day():
    reading = _read(_fields({"EXPIRATION_DATE": ("06/15/2026", "2026-06-15T00:00:00")}))
    assert decide(SUBMITTED, _face(), reading, VERIFY, REVIEW, date(2026, 6, 15)).status == "verified"
    late = decide(SUBMITTED, _face(), reading, VERIFY, REVIEW, date(2026, 6, 16))
    assert late.reasons == ["the document expired on 2026-06-15"]


# --- every document of the response ------------------------------------------------------------


def test_a_field_missing_on_one_page_is_read_from_the_other():
    front = _fields(drop=("DATE_OF_BIRTH", "DOCUMENT_NUMBER"))
    back = _fields(drop=("FIRST_NAME", "EXPIRATION_DATE"))
    assert _decide(reading=_read(front, back)).status == "verified"
    assert _decide(reading=_read(back, front)).status == "verified"


def test_pages_that_disagree_ask_for_review_whatever_their_order():
    front = _fields()
    back = _fields({"DATE_OF_BIRTH": ("01/13/1957", "1957-01-13T00:00:00")})
    for reading in (_read(front, back), _read(back, front)):
        decision = _decide(reading=reading)
        assert decision.status == "needs_review"
        assert decision.reasons == ["the document's pages disagree on the date of birth (review)"]
        assert decision.checks["details_match"]["consistency"]["pages_disagree"] == ["DATE_OF_BIRTH"]
        assert decision.checks["details_match"]["fields"]["DATE_OF_BIRTH"]["passed"] is True


def test_a_page_that_clearly_differs_everywhere_still_rejects():
    other = {
        "FIRST_NAME": ("JUAN", None),
        "LAST_NAME": ("SMITH", None),
        "DATE_OF_BIRTH": ("01/13/1960", None),
        "DOCUMENT_NUMBER": ("D99887766", None),
    }
    decision = _decide(reading=_read(_fields(other), _fields(other)))
    assert decision.status == "rejected"


# --- names -------------------------------------------------------------------------------------


def test_first_and_last_name_swapped_ask_for_review_not_rejection():
    reading = _read(_fields({"FIRST_NAME": ("MUNOZ GARCIA", None), "LAST_NAME": ("JOSE", None)}))
    decision = _decide(reading=reading)
    assert decision.status == "needs_review"
    assert decision.reasons == [
        "first name appears on the document, but in another name's place (review)",
        "last name appears on the document, but in another name's place (review)",
    ]
    assert decision.checks["details_match"]["fields"]["FIRST_NAME"]["outcome"] == "name_order"


def test_given_names_in_another_order_ask_for_review():
    reading = _read(_fields({"FIRST_NAME": ("L", None), "MIDDLE_NAME": ("JOSE", None)}))
    decision = _decide(reading=reading, submitted={"middle_name": "Luis"})
    assert decision.status == "needs_review"
    assert decision.reasons == ["first name appears on the document, but in another name's place (review)"]


def test_a_last_name_that_is_nowhere_on_the_document_still_rejects():
    reading = _read(_fields({"LAST_NAME": ("SMITH", None)}))
    assert _decide(reading=reading, submitted={"middle_name": "Smithers"}).status == "rejected"


def test_a_middle_name_field_read_wrongly_never_costs_the_verification():
    reading = _read(_fields({"MIDDLE_NAME": ("HUGH B", None)}))
    assert _decide(reading=reading).status == "verified"
    assert _decide(reading=reading, submitted={"middle_name": "Luis"}).status == "verified"


# --- machine-readable zone (Textract's MRZ_CODE) -------------------------------------------------

PASSPORT = {
    "first_name": "Li",
    "middle_name": "",
    "last_name": "Juan",
    "date_of_birth": "1982-05-01",
    "id_type": "Passport",
    "id_value": "000202837",
}


def _passport_fields(zone: str | None, drop: tuple = ()) -> list[dict]:
    printed = {
        "FIRST_NAME": ("LI", None),
        "LAST_NAME": ("JUAN", None),
        "DOCUMENT_NUMBER": ("000202837", None),
        "DATE_OF_BIRTH": ("01 MAY 1982", "1982-05-01T00:00:00"),
        "EXPIRATION_DATE": ("09 MAY 2029", "2029-05-09T00:00:00"),
    }
    fields = [
        {
            "Type": {"Text": k},
            "ValueDetection": {
                "Text": t,
                "Confidence": 98.0,
                **({"NormalizedValue": {"Value": n, "ValueType": "Date"}} if n else {}),
            },
        }
        for k, (t, n) in printed.items()
        if k not in drop
    ]
    if zone is not None:
        fields.append({"Type": {"Text": "MRZ_CODE"}, "ValueDetection": {"Text": zone, "Confidence": 82.0}})
    return fields


def _passport(fields: list[dict], **extra) -> Decision:
    return decide(PASSPORT, _face(), _read(fields, **extra), VERIFY, REVIEW, TODAY)


def test_a_valid_zone_that_agrees_with_the_print_verifies():
    from tests.mrz_support import td3

    decision = _passport(_passport_fields(td3("JUAN", "LI", "000202837", "820501", "290509")))
    assert (decision.status, decision.reasons) == ("verified", [])


def test_a_valid_zone_that_disagrees_with_the_print_is_a_consistency_problem():
    from tests.mrz_support import td3

    decision = _passport(_passport_fields(td3("JUAN", "LI", "000202837", "830501", "290509")))
    assert decision.status == "needs_review"
    assert decision.reasons == [
        "the document's machine-readable data disagrees with its printed date of birth; possible tampering (review)"
    ]
    assert decision.checks["details_match"]["consistency"]["mismatched_fields"] == ["DATE_OF_BIRTH"]


def test_a_valid_zone_reads_a_field_the_print_lost():
    from tests.mrz_support import td3

    zone = td3("JUAN", "LI", "000202837", "820501", "290509")
    decision = _passport(_passport_fields(zone, drop=("DATE_OF_BIRTH",)))
    assert decision.status == "verified"
    field = decision.checks["details_match"]["fields"]["DATE_OF_BIRTH"]
    assert field["source"] == "mrz" and field["document"] == "1982-05-01"


def test_a_zone_failing_its_check_digits_is_reported_and_never_trusted():
    from tests.mrz_support import td3

    zone = td3("JUAN", "LI", "000202837", "820501", "290509")
    broken = zone[:-1] + ("0" if zone[-1] != "0" else "1")  # the composite check digit
    decision = _passport(_passport_fields(broken, drop=("DATE_OF_BIRTH",)))
    assert decision.status == "needs_review"
    assert decision.reasons == [
        "date of birth could not be read from the document (review)",
        "the document's machine-readable zone fails its check digits; possible tampering (review)",
    ]
    assert decision.checks["details_match"]["consistency"]["mrz_checks_failed"] is True


def test_a_zone_that_cannot_be_read_asks_for_review():
    decision = _passport(_passport_fields("P<USAJUAN<<LI\n0002028373USA"))
    assert decision.reasons == ["the document's machine-readable zone could not be read (review)"]


def test_a_self_hosted_mrz_check_failure_asks_for_review():
    decision = _decide(reading=_read(_fields(), KycConsistency={"mismatched_fields": [], "mrz_checks_failed": True}))
    assert decision.status == "needs_review"
    assert decision.reasons == [
        "the document's machine-readable zone fails its check digits; possible tampering (review)"
    ]


# --- KycClaim (self-hosted reading guided by the submission) ------------------------------------


def test_claim_label_counts_as_read():
    decision = _decide(
        reading=_read(
            _fields(),
            KycClaim={
                "FIRST_NAME": "label",
                "LAST_NAME": "label",
                "DATE_OF_BIRTH": "label",
                "DOCUMENT_NUMBER": "label",
            },
        )
    )
    assert decision.status == "verified"


def test_claim_elsewhere_never_verifies():
    decision = _decide(reading=_read(_fields(), KycClaim={"DOCUMENT_NUMBER": "elsewhere"}))
    assert decision.status == "needs_review"
    assert decision.reasons == [
        "document number is printed on the document, but not where the document number goes (review)"
    ]
    assert decision.checks["details_match"]["fields"]["DOCUMENT_NUMBER"]["outcome"] == "elsewhere"


def test_claim_elsewhere_with_a_clear_blind_mismatch_still_rejects():
    reading = _read(_fields({"DOCUMENT_NUMBER": ("D99887766", None)}), KycClaim={"DOCUMENT_NUMBER": "elsewhere"})
    assert _decide(reading=reading).reasons == ["document number differs from the document"]


def test_claim_elsewhere_with_a_shaky_blind_mismatch_asks_for_review():
    reading = _read(
        _fields({"DOCUMENT_NUMBER": ("D99887766", None)}, confidence={"DOCUMENT_NUMBER": 50.0}),
        KycClaim={"DOCUMENT_NUMBER": "elsewhere"},
    )
    assert _decide(reading=reading).status == "needs_review"


def test_claim_absent_leaves_the_blind_reading():
    reading = _read(_fields({"LAST_NAME": ("SMITH", None)}), KycClaim={"LAST_NAME": "absent"})
    assert _decide(reading=reading).reasons == ["last name differs from the document"]
    assert _decide(reading=_read(_fields(), KycClaim={"LAST_NAME": "absent"})).status == "verified"


# --- without a face comparison -----------------------------------------------------------------


def test_without_a_face_comparison_the_document_alone_decides():
    decision = decide(SUBMITTED, None, _reading(), VERIFY, REVIEW, TODAY)
    assert decision.status == "verified" and "face_match" not in decision.checks
    expired = decide(SUBMITTED, None, _reading({"EXPIRATION_DATE": ("01/31/2020", None)}), VERIFY, REVIEW, TODAY)
    assert expired.reasons == ["the document expired on 2020-01-31"]


# --- one character no reader confuses ------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"LAST_NAME": ("MUNOZ GARCIX", None)}, "LAST_NAME"),
        ({"DOCUMENT_NUMBER": ("S123456579011", None)}, "DOCUMENT_NUMBER"),
    ],
)
def test_a_clear_one_character_difference_rejects_and_a_shaky_one_asks_for_review(overrides, field):
    clear = _decide(reading=_reading(overrides))
    assert clear.status == "rejected"
    assert clear.checks["details_match"]["fields"][field]["outcome"] == "mismatch"
    decision = _decide(reading=_reading(overrides, confidence=70.0))
    assert decision.status == "needs_review"
    assert decision.checks["details_match"]["fields"][field]["outcome"] == "near_miss"
