"""AAMVA barcode payloads and MRZ parsing, without OCR."""

import io

import pytest

from kyc_service.engines import barcode, mrzread
from kyc_service.testdata import docgen, passports


def test_generated_barcode_round_trip_reads_bytes():
    pytest.importorskip("zxingcpp")
    details = docgen.random_details(11)
    raw = barcode.read_pdf417(docgen.licence_back(details))
    assert raw is not None and raw.startswith(b"@\n\x1e\rANSI ")
    fields = barcode.parse_aamva(raw)
    assert fields["DOCUMENT_NUMBER"].value == details["document_number"]
    assert fields["DATE_OF_BIRTH"].date.isoformat() == details["date_of_birth"]
    assert fields["ZIP_CODE_IN_ADDRESS"].value == details["zip_code"]


def test_no_barcode_gives_nothing():
    from PIL import Image

    assert barcode.read_back(Image.new("RGB", (400, 300), "white")) == {}


def test_aamva_header_offsets_are_correct():
    payload = docgen.aamva_payload(docgen.random_details(12))
    offset, length = int(payload[23:27]), int(payload[27:31])
    assert payload[offset : offset + 2] == "DL" and len(payload) == offset + length


US = (
    "@\n\x1e\rANSI 636014090102DL00410250ZC02900045DLDAQD1234567\nDCSPUBLIC\nDACJOHN\n"
    "DADQUINCY\nDBB01121957\nDBA01122030\nDBD01122022\nDAG123 MAIN ST\nDAISACRAMENTO\n"
    "DAJCA\nDAK958150000  \nDCUJR\nDCANONE\r"
)
CANADA = (
    "@\n\x1e\rANSI 636028090002DL00410200ZO02410030DLDAQ1234-56789-01234\nDCSTREMBLAY\n"
    "DACMARIE\nDBB19800315\nDBA20281231\nDAJON\nDAKK1A 0B1    \nDCGCAN\r"
)


def test_parse_us_aamva():
    f = barcode.parse_aamva(US.encode())
    assert f["LAST_NAME"].value == "PUBLIC" and f["FIRST_NAME"].value == "JOHN"
    assert f["MIDDLE_NAME"].value == "QUINCY" and f["SUFFIX"].value == "JR"
    assert f["DATE_OF_BIRTH"].date.isoformat() == "1957-01-12"
    assert f["EXPIRATION_DATE"].date.isoformat() == "2030-01-12"
    assert f["ZIP_CODE_IN_ADDRESS"].value == "95815"
    assert f["STATE_NAME"].value == "CALIFORNIA"
    assert "CLASS" not in f  # NONE is empty for class


def test_parse_canadian_dates_yyyymmdd():
    f = barcode.parse_aamva(CANADA.encode())
    assert f["DATE_OF_BIRTH"].date.isoformat() == "1980-03-15"
    assert f["EXPIRATION_DATE"].date.isoformat() == "2028-12-31"
    assert f["ZIP_CODE_IN_ADDRESS"].value == "K1A0B1"


def test_parse_garbage_payload():
    assert barcode.parse_aamva(b"hello world") == {}


def _td3(**kw):
    details = docgen.passport_details(kw.pop("seed", 3))
    details.update(kw)
    return details, passports.passport_mrz(details).splitlines()


def _boxes(*texts):
    from kyc_service.engines.ocr import Line

    return [Line(t, 96.0, 20, 40 * i, 20 + 14 * len(t), 40 * i + 30) for i, t in enumerate(texts)]


def test_icao_specimen_zones_are_generated_exactly():
    assert passports.td3_mrz(
        "P", "UTO", "ERIKSSON", "ANNA MARIA", "L898902C3", "UTO", "740812", "F", "120415", "ZE184226B"
    ) == ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10")
    assert (
        passports.td2_mrz("I", "UTO", "ERIKSSON", "ANNA MARIA", "D23145890", "UTO", "740812", "F", "120415")
        == "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6"
    )
    assert passports.td1_mrz("I", "UTO", "D23145890", "740812", "F", "120415", "UTO", "ERIKSSON", "ANNA MARIA") == (
        "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
    )


def test_mrz_td3_with_ocr_confusions_is_corrected():
    details, lines = _td3(seed=4, last_name="OBOLO", first_name="SIMON")
    ocr1 = lines[0].replace("O", "0").replace("<<<<", "<K<<", 1)
    ocr2 = lines[1][:13] + lines[1][13:19].replace("1", "I").replace("0", "O") + lines[1][19:]
    result = mrzread.find(_boxes("PASSPORT", ocr1, ocr2.replace("<<<", "«<", 1)))
    assert result.valid, result.failed_checks
    assert result.lines == lines
    fields = result.fields()
    assert fields["LAST_NAME"].value == "OBOLO"
    assert fields["DATE_OF_BIRTH"].date.isoformat() == details["date_of_birth"]
    assert fields["MRZ_CODE"].value == "\n".join(lines)


def test_mrz_document_number_o_zero_retry():
    details, lines = _td3(seed=5, passport_number="AB0101234")
    bad = lines[1].replace("AB0101234", "ABO1O1234")  # letters are allowed there
    zone = mrzread.parse_lines([lines[0], bad])
    assert zone.valid and zone.document_number == "AB0101234"


def test_mrz_corrupted_check_digit_is_detected():
    _, lines = _td3(seed=6)
    line2 = lines[1]
    wrong = str((int(line2[19]) + 1) % 10)
    zone = mrzread.parse_lines([lines[0], line2[:19] + wrong + line2[20:]])
    assert zone is not None and not zone.valid
    assert "birth_date" in zone.failed_checks
    reading = mrzread.find(_boxes(lines[0], line2[:19] + wrong + line2[20:]))
    assert not reading.valid and reading.confidence <= 50


def test_mrz_td1_and_td2():
    td1 = passports.td1_mrz("I", "UTO", "D23145890", "740812", "F", "300101", "UTO", "ERIKSSON", "ANNA MARIA")
    r = mrzread.find(_boxes(*td1.splitlines()))
    assert r.zone.kind == "TD1" and r.valid and r.fields()["FIRST_NAME"].value == "ANNA"
    assert r.fields()["DOCUMENT_NUMBER"].value == "D23145890"
    td2 = passports.td2_mrz("I", "UTO", "ERIKSSON", "ANNA MARIA", "D23145890", "UTO", "740812", "F", "300101")
    r = mrzread.find(_boxes(*td2.splitlines()))
    assert r.zone.kind == "TD2" and r.valid
    assert r.fields()["DATE_OF_BIRTH"].date.isoformat() == "1974-08-12"
    assert r.fields()["EXPIRATION_DATE"].date.isoformat() == "2030-01-01"


@pytest.mark.parametrize(
    "texts",
    [
        ["4d DLN S694-167-87-113-7", "1 MULLER", "2 OMAR ANN"],
        ["Operation of a motor vehicle constitutes consent to any sobriety test required by law."],
        ["CONSENTTOANYSOBRIETYTESTREQUIREDBYLAWOPERATI", "ONOFAMOTORVEHICLECONSTITUTESCONSENTTOANYSOBR"],
        ["5DD12345678901234567890123", "DD 1234567890123456789012345"],
        ["01/12/202401/12/1967", "4a Iss11/07/2016 4b Exp 01/12/2021"],
    ],
)
def test_no_mrz_in_ordinary_text(texts):
    assert mrzread.find(_boxes(*texts)) is None


def test_partial_details_are_completed_and_encoded():
    """The demo passes the create_or_update body's fields; the rest is filled in."""
    pytest.importorskip("zxingcpp")
    body = {
        "first_name": "Ashish",
        "last_name": "Palankar",
        "middle_name": "",
        "date_of_birth": "1990-04-20",
        "id_value": "D1234-5678",
        "address": "123 Main Street",
        "city": "Tallahassee",
        "state": "FL",
        "zip_code": "32301",
    }
    details = docgen.complete_details(body, seed=1)
    assert details["document_number"] == "D1234-5678" and details["first_name"] == "ASHISH"
    assert details["date_of_birth"] == "1990-04-20" and details["middle_name"] == ""
    from PIL import Image

    _, back = docgen.make_licence(body, None, layout=0)
    fields = barcode.read_back(Image.open(io.BytesIO(back)).convert("RGB"))
    assert fields["DOCUMENT_NUMBER"].value == "D1234-5678"
    assert fields["ADDRESS"].value == "123 MAIN STREET"
    assert fields["DATE_OF_BIRTH"].date.isoformat() == "1990-04-20"
    assert "MIDDLE_NAME" not in fields


def test_subfile_on_its_own_line():
    payload = "@\n\x1e\rANSI 636020090001DL00310080\nDLDAQ987654321\nDCSNGUYEN\nDACLINH\nDBB02291992\nDAJCO\nDAK80202\r"
    f = barcode.parse_aamva(payload)
    assert f["DOCUMENT_NUMBER"].value == "987654321" and f["LAST_NAME"].value == "NGUYEN"
    assert f["DATE_OF_BIRTH"].date.isoformat() == "1992-02-29"
