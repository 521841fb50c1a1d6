"""Reading guided by the claim: exact matches after normalisation only, at the field's place."""

import pytest

from kyc_service.engines import claim as claims
from kyc_service.engines.fields import CLEAR, Field


def run(claim, fields, slots, texts=()):
    fields = {k: (v if isinstance(v, Field) else Field(v, 80.0)) for k, v in fields.items()}
    return claims.apply(claim, fields, slots, list(texts)), fields


def test_glued_given_names_match_first_and_middle():
    found, fields = run(
        {"first_name": "Caron", "middle_name": "Lynn"},
        {"FIRST_NAME": "CARONLYNN"},
        {"FIRST_NAME": ["CARONLYNN"]},
        ["2SAMPLE, CARONLYNN", "Caron Sample"],
    )
    assert found == {"FIRST_NAME": "label"}
    assert (fields["FIRST_NAME"].value, fields["MIDDLE_NAME"].value) == ("CARON", "LYNN")
    assert fields["FIRST_NAME"].confidence >= CLEAR


def test_a_name_found_only_away_from_its_label_is_elsewhere():
    # the signature prints the first name, the given-names field does not hold it alone
    found, fields = run(
        {"first_name": "Caron"},
        {"FIRST_NAME": "CARONLYNN"},
        {"FIRST_NAME": ["CARONLYNN"]},
        ["2SAMPLE, CARONLYNN", "Caron Sample"],
    )
    assert found == {"FIRST_NAME": "elsewhere"}
    assert fields["FIRST_NAME"].value == "CARONLYNN"  # the blind reading stands


def test_swapped_names_are_elsewhere():
    found, _ = run(
        {"first_name": "Sample", "last_name": "John"},
        {"FIRST_NAME": "JOHN", "LAST_NAME": "SAMPLE"},
        {"FIRST_NAME": ["JOHN A"], "LAST_NAME": ["SAMPLE"]},
        ["1SAMPLE", "2 JOHN A"],
    )
    assert found == {"FIRST_NAME": "elsewhere", "LAST_NAME": "elsewhere"}


@pytest.mark.parametrize("submitted", ["SAMPLES", "SAMPLF", "SAMP LE X", "SAMPL"])
def test_a_different_value_is_never_a_match(submitted):
    found, fields = run(
        {"last_name": submitted}, {"LAST_NAME": "SAMPLE"}, {"LAST_NAME": ["SAMPLE"]}, ["SAMPLE", "1SAMPLE"]
    )
    assert found["LAST_NAME"] == "absent"
    assert fields["LAST_NAME"].value == "SAMPLE"


def test_case_accents_spaces_and_dashes_are_normalised():
    found, fields = run(
        {"last_name": "maria", "first_name": "Garcia", "id_value": "s514 172 80 844 0"},
        {"LAST_NAME": "MARÍA", "FIRST_NAME": "GARCÍA", "DOCUMENT_NUMBER": "S514-172-80-844-0"},
        {"LAST_NAME": ["MARÍA"], "FIRST_NAME": ["GARCÍA"], "DOCUMENT_NUMBER": ["S514-172-80-844-0"]},
    )
    assert found == {"FIRST_NAME": "label", "LAST_NAME": "label", "DOCUMENT_NUMBER": "label"}
    assert fields["DOCUMENT_NUMBER"].value == "S514-172-80-844-0"  # as printed


def test_document_number_one_character_off_is_not_found():
    found, fields = run(
        {"id_value": "S514-172-80-844-1"},
        {"DOCUMENT_NUMBER": "S514-172-80-844-0"},
        {"DOCUMENT_NUMBER": ["S514-172-80-844-0"]},
        ["S514-172-80-844-0"],
    )
    assert found == {"DOCUMENT_NUMBER": "absent"}
    assert fields["DOCUMENT_NUMBER"].value == "S514-172-80-844-0"


def test_dates_compare_as_dates():
    from datetime import date

    dob = Field("08-16-1960", 80.0, date(1960, 8, 16))
    found, fields = run({"date_of_birth": "1960-08-16"}, {"DATE_OF_BIRTH": dob}, {"DATE_OF_BIRTH": ["08-16-1960"]})
    assert found == {"DATE_OF_BIRTH": "label"} and fields["DATE_OF_BIRTH"].date == date(1960, 8, 16)
    # printed only as a ghost date with a two-digit year: elsewhere
    found, _ = run(
        {"date_of_birth": "1974-01-01"}, {"DATE_OF_BIRTH": dob}, {"DATE_OF_BIRTH": ["08-16-1960"]}, ["01/01/74"]
    )
    assert found == {"DATE_OF_BIRTH": "elsewhere"}
    found, _ = run(
        {"date_of_birth": "1960-08-17"}, {"DATE_OF_BIRTH": dob}, {"DATE_OF_BIRTH": ["08-16-1960"]}, ["08-16-1960"]
    )
    assert found == {"DATE_OF_BIRTH": "absent"}


def test_initial_before_the_name_used():
    found, fields = run({"first_name": "John"}, {"FIRST_NAME": "Q"}, {"FIRST_NAME": ["Q. JOHN"]})
    assert found == {"FIRST_NAME": "label"} and fields["FIRST_NAME"].value == "JOHN"


def test_middle_name_as_first_name_is_elsewhere():
    found, _ = run(
        {"first_name": "Joseph"},
        {"FIRST_NAME": "ALEXANDER"},
        {"FIRST_NAME": ["ALEXANDER JOSEPH"]},
        ["FNALEXANDER JOSEPH"],
    )
    assert found == {"FIRST_NAME": "elsewhere"}


def test_only_submitted_fields_are_reported():
    found, _ = run(
        {"last_name": "SAMPLE", "first_name": None, "id_value": ""}, {"LAST_NAME": "SAMPLE"}, {"LAST_NAME": ["SAMPLE"]}
    )
    assert found == {"LAST_NAME": "label"}


def test_real_card_guided_by_its_claim():
    pytest.importorskip("rapidocr")
    from kyc_service.bench.engines import fixture_cards
    from kyc_service.engines.analyze import analyze
    from kyc_service.engines.cli import flatten

    cards = {name: path for name, path, _ in fixture_cards()}
    if "nebraska.png" not in cards:
        pytest.skip("real ID fixtures not found (set KYC_FIXTURES_DIR)")
    data = cards["nebraska.png"].read_bytes()
    genuine = {
        "first_name": "Caron",
        "middle_name": "Lynn",
        "last_name": "Sample",
        "date_of_birth": "1977-02-01",
        "id_value": "N99999999",
        "id_type": "Driving license",
    }
    response = analyze(data, claim=genuine)
    assert response["KycClaim"] == {
        "FIRST_NAME": "label",
        "LAST_NAME": "label",
        "DATE_OF_BIRTH": "label",
        "DOCUMENT_NUMBER": "label",
    }
    changed = dict(genuine, id_value="N99999998", date_of_birth="1977-01-02")
    response = analyze(data, claim=changed)
    assert response["KycClaim"]["DOCUMENT_NUMBER"] == "absent"
    assert response["KycClaim"]["DATE_OF_BIRTH"] == "absent"
    read = flatten(response)
    assert read["DOCUMENT_NUMBER"]["value"] == "N99999999"  # never turned into the claim
    assert read["DATE_OF_BIRTH"]["value"] == "1977-02-01"
    blind = analyze(data)
    assert "KycClaim" not in blind
