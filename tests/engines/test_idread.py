"""Generated licences and passports read back field by field, barcodes, MRZ, consistency."""

import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("zxingcpp")

from chalicelib.providers.port import UnusableInput, reading_from_analyze_id
from kyc_service.bench.engines import compare_fields
from kyc_service.engines.analyze import analyze
from kyc_service.engines.cli import flatten
from kyc_service.testdata import docgen, passports, photos


@pytest.fixture(scope="session")
def portrait():
    from kyc_service.testdata import samples

    return samples.portrait_image()


@pytest.mark.parametrize("layout", [0, 1, 2, 3])
def test_clean_licence_front_read_exactly(layout, portrait):
    details = docgen.random_details(200 + layout)
    front, _ = docgen.make_licence(details, portrait, layout=layout, seed=layout)
    response = analyze(front)
    read = flatten(response)
    ok, wrong = compare_fields(docgen.expected_licence_fields(details), read)
    assert wrong == [], {n: read.get(n) for n in wrong}
    assert read["ID_TYPE"]["value"] == "DRIVER LICENSE FRONT"
    assert response["KycConsistency"]["mismatched_fields"] == []


@pytest.mark.parametrize("layout", [0, 2, 3])
def test_degraded_licence_front(layout, portrait):
    details = docgen.random_details(300 + layout)
    front, _ = docgen.make_licence(details, portrait, layout=layout, degrade=True, seed=300 + layout)
    expected = docgen.expected_licence_fields(details)
    read = flatten(analyze(front))
    ok, wrong = compare_fields(expected, read)
    assert ok >= len(expected) - 1, {n: read.get(n) for n in wrong}
    for key in ("DATE_OF_BIRTH", "LAST_NAME", "FIRST_NAME"):
        assert key not in wrong


def test_licence_with_back_prefers_barcode_and_agrees(portrait):
    details = docgen.random_details(401)
    front, back = docgen.make_licence(details, portrait, layout=1, degrade=True, seed=401)
    response = analyze(front, back)
    assert response["KycConsistency"]["sources"]["machine_readable"] == "pdf417"
    assert response["KycConsistency"]["mismatched_fields"] == []
    ok, wrong = compare_fields(docgen.expected_licence_fields(details), flatten(response))
    assert wrong == []


def test_barcode_vs_print_mismatch_is_reported(portrait):
    details = docgen.random_details(402)
    forged = dict(details, date_of_birth="1961-01-02", last_name="OTHERNAME")
    front, back = docgen.make_licence(details, portrait, layout=0, barcode_details=forged)
    response = analyze(front, back)
    assert response["KycConsistency"]["mismatched_fields"] == ["DATE_OF_BIRTH", "LAST_NAME"]
    read = flatten(response)
    assert read["DATE_OF_BIRTH"]["value"] == "1961-01-02"  # barcode wins
    reading = reading_from_analyze_id(response)
    assert reading.mismatched_fields == ["DATE_OF_BIRTH", "LAST_NAME"]
    assert reading.fields["DATE_OF_BIRTH"].normalized == "1961-01-02"


def test_response_is_textract_shaped(portrait):
    details = docgen.random_details(403)
    front, _ = docgen.make_licence(details, portrait, layout=2)
    response = analyze(front)
    doc = response["IdentityDocuments"][0]
    assert doc["DocumentIndex"] == 1 and response["DocumentMetadata"] == {"Pages": 1}
    by_name = {f["Type"]["Text"]: f["ValueDetection"] for f in doc["IdentityDocumentFields"]}
    dob = by_name["DATE_OF_BIRTH"]
    assert dob["NormalizedValue"] == {"Value": details["date_of_birth"] + "T00:00:00", "ValueType": "Date"}
    assert 0 <= dob["Confidence"] <= 100
    assert "NormalizedValue" not in by_name["LAST_NAME"]


@pytest.mark.parametrize("degrade,labels", [(False, "plain"), (True, "plain"), (False, "bilingual")])
def test_passport_read_from_mrz(degrade, labels, portrait):
    details = docgen.passport_details(500 + degrade)
    page = passports.make_passport(details, portrait, degrade=degrade, seed=500, labels=labels)
    response = analyze(page)
    read = flatten(response)
    ok, wrong = compare_fields(passports.expected_passport_fields(details), read)
    assert wrong == [], {n: read.get(n) for n in wrong}
    assert read["MRZ_CODE"]["value"].splitlines()[1].startswith(details["passport_number"])
    assert response["KycConsistency"]["sources"]["machine_readable"] == "mrz"
    assert response["KycConsistency"]["mismatched_fields"] == []
    # the printed visual zone alone reads the same fields (the MRZ only confirms them)
    printed = set(response["KycConsistency"]["sources"]["printed_fields"])
    assert {"FIRST_NAME", "LAST_NAME", "DATE_OF_BIRTH", "EXPIRATION_DATE", "DOCUMENT_NUMBER"} <= printed


def test_passport_mrz_vs_print_mismatch(portrait):
    details = docgen.passport_details(510)
    other = dict(details, date_of_birth="1970-07-07")
    page = passports.make_passport(details, portrait, mrz_details=other)
    response = analyze(page)
    assert "DATE_OF_BIRTH" in response["KycConsistency"]["mismatched_fields"]


def test_mrz_failing_its_checks_never_overrides_the_print(portrait):
    details = docgen.passport_details(520)
    forged = dict(details, date_of_birth="1970-07-07")
    l1, l2 = passports.passport_mrz(forged).splitlines()
    good_digit = passports.passport_mrz(details).splitlines()[1][19]
    # the birth date changed in the zone but its check digit left as it was: checks fail
    zone = l1 + "\n" + l2[:19] + good_digit + l2[20:]
    response = analyze(passports.make_passport(details, portrait, mrz_override=zone))
    read = flatten(response)
    consistency = response["KycConsistency"]
    assert consistency["mrz_checks_failed"] is True
    assert consistency["sources"]["machine_readable"] == "mrz_invalid"
    assert read["DATE_OF_BIRTH"]["value"] == details["date_of_birth"]  # the print stands
    assert read["MRZ_CODE"]["confidence"] <= 50
    assert consistency["mismatched_fields"] == []


def test_passport_card_front(portrait):
    details = docgen.passport_details(530)
    read = flatten(analyze(passports.make_passport_card(details, portrait, seed=530)))
    assert read["LAST_NAME"]["value"] == details["last_name"]
    assert read["FIRST_NAME"]["value"] == details["first_name"]
    assert read["DATE_OF_BIRTH"]["value"] == details["date_of_birth"]
    assert read["EXPIRATION_DATE"]["value"] == details["expiration_date"]
    assert read["DOCUMENT_NUMBER"]["value"].startswith("C") and len(read["DOCUMENT_NUMBER"]["value"]) == 9
    assert "MRZ_CODE" not in read


@pytest.mark.parametrize("data", [b"", b"%PDF-1.4 not an image", b"\xff\xd8\xff\xe0broken jpeg"])
def test_unreadable_document(data):
    with pytest.raises(UnusableInput) as info:
        analyze(data)
    assert info.value.reason


def test_blank_image_reads_nothing():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (640, 400), "white").save(buf, "PNG")
    assert flatten(analyze(buf.getvalue())) == {}


@pytest.mark.parametrize("seed,turns,perspective", [(84, 0, 0.0), (90, 1, 0.05), (91, 2, 0.05), (92, 3, 0.0)])
def test_photographed_licence_on_a_table(seed, turns, perspective, portrait):
    """Card turned by quarter turns, up to 5 degrees more, in perspective, on a background."""
    details = docgen.random_details(seed)
    front, _ = docgen.make_licence(details, portrait, layout=seed)
    read = flatten(analyze(photos.photograph(front, seed, quarter_turns=turns, perspective=perspective, blur=0.6)))
    ok, wrong = compare_fields(docgen.expected_licence_fields(details), read)
    assert wrong == [], {n: read.get(n) for n in wrong}
