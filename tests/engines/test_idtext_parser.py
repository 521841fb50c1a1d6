"""The licence-front parser on hand-made OCR rows (no OCR model needed)."""
from kyc_service.engines.idtext import parse_rows
from kyc_service.engines.ocr import Line, rows


def make_rows(*texts, conf=95.0):
    return [[Line(t, conf, 10, 40 * i, 400, 40 * i + 30)] for i, t in enumerate(texts)]


def values(fields):
    return {k: (f.date.isoformat() if f.date else f.value) for k, f in fields.items()}


def test_numbered_fields_and_lookalikes():
    v = values(parse_rows(make_rows(
        "FLORIDA DRIVER LICENSE", "4d DLN D123-456-78-901-0", "l MULLER", "Z OMAR ANN JR",
        "8 77 0AK AVE", "AUSTIN, TX 78701-1234", "3 D0B 09/05/1987", "4a ISS 10/16/2020",
        "4b EXP 09/05/2028", "9 CLASS C 9a END NONE 12 RESTR B")))
    assert v["DOCUMENT_NUMBER"] == "D123-456-78-901-0"
    assert (v["LAST_NAME"], v["FIRST_NAME"], v["MIDDLE_NAME"], v["SUFFIX"]) == ("MULLER", "OMAR", "ANN", "JR")
    assert (v["ADDRESS"], v["CITY_IN_ADDRESS"], v["STATE_IN_ADDRESS"], v["ZIP_CODE_IN_ADDRESS"]) == \
        ("77 OAK AVE", "AUSTIN", "TX", "78701-1234")
    assert (v["DATE_OF_BIRTH"], v["DATE_OF_ISSUE"], v["EXPIRATION_DATE"]) == \
        ("1987-09-05", "2020-10-16", "2028-09-05")
    assert (v["CLASS"], v["ENDORSEMENTS"], v["RESTRICTIONS"]) == ("C", "NONE", "B")
    assert v["STATE_NAME"] == "FLORIDA" and v["ID_TYPE"] == "DRIVER LICENSE FRONT"


def test_dates_by_order_when_labels_are_misread():
    v = values(parse_rows(make_rows("EKP 04/20/2028", "D8 04/20/1990", "1SS 01/01/2020")))
    assert v["DATE_OF_BIRTH"] == "1990-04-20"
    assert v["DATE_OF_ISSUE"] == "2020-01-01"
    assert v["EXPIRATION_DATE"] == "2028-04-20"


def test_dates_by_order_when_labels_contradict_the_dates():
    v = values(parse_rows(make_rows("3 DOB 04/20/2028", "4a ISS 04/20/1990", "4b EXP 01/01/2020")))
    assert (v["DATE_OF_BIRTH"], v["DATE_OF_ISSUE"], v["EXPIRATION_DATE"]) == \
        ("1990-04-20", "2020-01-01", "2028-04-20")


def test_impossible_dates_are_ignored():
    v = values(parse_rows(make_rows("3 DOB 13/45/1990", "4b EXP 04/20/2028")))
    assert "DATE_OF_BIRTH" not in v
    assert v["EXPIRATION_DATE"] == "2028-04-20"


def test_nothing_recognisable():
    assert parse_rows(make_rows("HELLO WORLD", "SPECIMEN")) == {}


def test_rows_do_not_merge_boxes_stacked_on_a_slant():
    a = Line("8 8155 PINE RD", 99, 100, 500, 420, 545)
    b = Line("SACRAMENTO, CA 95814", 99, 130, 528, 560, 572)  # next line, rotated photo
    c = Line("15 SEX M", 99, 600, 505, 760, 540)               # same line, to the right
    grouped = rows([a, b, c])
    assert [[x.text for x in r] for r in grouped] == [["8 8155 PINE RD", "15 SEX M"],
                                                      ["SACRAMENTO, CA 95814"]]


def test_rows_merge_boxes_touching_side_by_side():
    number = Line("8", 100, 33, 240, 67, 270)
    street = Line("8244 OAK AVE", 99, 63, 239, 292, 270)  # padding overlaps by a few pixels
    assert [[x.text for x in r] for r in rows([street, number])] == [["8", "8244 OAK AVE"]]


def test_lost_spaces_and_neighbouring_text():
    v = values(parse_rows(make_rows("4d DLN S512-594-11-468-6 DRIVERL", "9 CLASS E9A END NONE 12 RESTR B",
                                    "4d DLN 123 456 789")))
    assert v["DOCUMENT_NUMBER"] == "S512-594-11-468-6"
    assert v["CLASS"] == "E" and v["ENDORSEMENTS"] == "NONE" and v["RESTRICTIONS"] == "B"
    v = values(parse_rows(make_rows("DLN 123 456 789")))
    assert v["DOCUMENT_NUMBER"] == "123456789"
