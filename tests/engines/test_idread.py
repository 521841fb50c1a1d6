"""Generated licences and passports read back field by field, barcodes, MRZ, consistency."""
import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("zxingcpp")

from chalicelib.providers.port import UnusableInput, reading_from_analyze_id  # noqa: E402
from kyc_service import docgen  # noqa: E402
from kyc_service.bench_engines import compare_fields  # noqa: E402
from kyc_service.engines.analyze import analyze  # noqa: E402
from kyc_service.engines.cli import flatten  # noqa: E402


@pytest.fixture(scope="session")
def portrait():
    from kyc_service import samples
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
    assert dob["NormalizedValue"] == {"Value": details["date_of_birth"] + "T00:00:00",
                                      "ValueType": "Date"}
    assert 0 <= dob["Confidence"] <= 100
    assert "NormalizedValue" not in by_name["LAST_NAME"]


@pytest.mark.parametrize("degrade", [False, True])
def test_passport_read_from_mrz(degrade, portrait):
    details = docgen.passport_details(500 + degrade)
    page = docgen.make_passport(details, portrait, degrade=degrade, seed=500)
    response = analyze(page)
    read = flatten(response)
    ok, wrong = compare_fields(docgen.expected_passport_fields(details), read)
    assert wrong == [], {n: read.get(n) for n in wrong}
    assert read["MRZ_CODE"]["value"].splitlines()[1].startswith(details["passport_number"])
    assert response["KycConsistency"]["sources"]["machine_readable"] == "mrz"
    assert response["KycConsistency"]["mismatched_fields"] == []


def test_passport_mrz_vs_print_mismatch(portrait):
    details = docgen.passport_details(510)
    other = dict(details, date_of_birth="1970-07-07")
    page = docgen.make_passport(details, portrait, mrz_details=other)
    response = analyze(page)
    assert "DATE_OF_BIRTH" in response["KycConsistency"]["mismatched_fields"]


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


def test_greyscale_second_pass_fills_missing_fields(portrait, monkeypatch):
    """When the colour pass misses required fields (e.g. red text), a greyscale pass runs."""
    import numpy as np
    from kyc_service.engines import analyze as analyze_module

    details = docgen.random_details(404)
    front, _ = docgen.make_licence(details, portrait, layout=2)
    real = analyze_module._ocr_rows
    seen = []

    def fake(img):
        arr = np.asarray(img)
        grey = bool((arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all())
        seen.append(grey)
        return [] if not grey else real(img)  # the colour pass "loses" everything

    monkeypatch.setattr(analyze_module, "_ocr_rows", fake)
    read = flatten(analyze(front))
    assert seen == [False, True]
    assert read["DATE_OF_BIRTH"]["value"] == details["date_of_birth"]
    assert read["DOCUMENT_NUMBER"]["value"] == details["document_number"]


@pytest.mark.parametrize("seed", [84, 90])
def test_photographed_licence_on_a_table(seed, portrait):
    """Card rotated up to 5 degrees on a noisy background (next lines must not merge)."""
    details = docgen.random_details(seed)
    front, _ = docgen.make_licence(details, portrait, layout=seed)
    read = flatten(analyze(docgen.photograph(front, seed)))
    ok, wrong = compare_fields(docgen.expected_licence_fields(details), read)
    assert wrong == [], {n: read.get(n) for n in wrong}
