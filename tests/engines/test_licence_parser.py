"""The licence-front parser and its label splitter on hand-made OCR boxes (no OCR model needed).

Boxes are laid out as cards lay them out (positions in pixels of a ~640 x 400 card); the
texts are the kinds of glued, misread and unlabelled readings the recogniser gives on real
cards, not any one card's values."""

import pytest

from kyc_service.engines import dlformats, layout
from kyc_service.engines.fields import CLEAR
from kyc_service.engines.licence import reading
from kyc_service.engines.licence.parser import parse, parse_rows
from kyc_service.engines.ocr import Line, rows


def make_rows(*texts, conf=95.0):
    return [[Line(t, conf, 10, 40 * i, 400, 40 * i + 30)] for i, t in enumerate(texts)]


def box(text, x0, y0, x1, y1, conf=97.0):
    return Line(text, conf, x0, y0, x1, y1)


def values(fields):
    return {k: (f.date.isoformat() if f.date else f.value) for k, f in fields.items()}


def read(*boxes, **kw):
    return values(parse(list(boxes), 640, 400, **kw).fields)


# ------------------------------------------------------------------ labels and values


@pytest.mark.parametrize(
    "text,expected",
    [
        ("4dLIC#WDLABCD456DG 9CLASS", [("label", "NUMBER"), ("value", "WDLABCD456DG"), ("label", "OTHER")]),
        ("DOB:08-16-1960 SEX: M", [("label", "DOB"), ("value", "08-16-1960"), ("label", "OTHER"), ("value", "M")]),
        ("3 DOB 01/06/1958", [("label", "DOB"), ("value", "01/06/1958")]),
        ("LNSAMPLE", [("label", "LAST"), ("value", "SAMPLE")]),
        ("FNALEXANDER JOSEPH", [("label", "GIVEN"), ("value", "ALEXANDER JOSEPH")]),
        ("4DLN D08954796", [("label", "NUMBER"), ("value", "D08954796")]),
        ("DL11234562", [("label", "NUMBER"), ("value", "11234562")]),
        ("48LICV007989", [("value", "48"), ("label", "NUMBER"), ("value", "V007989")]),
        ("123456783D0B01/06/1968", [("value", "12345678"), ("label", "DOB"), ("value", "01/06/1968")]),
        ("4b5XP 06/17/2025", [("label", "EXP"), ("value", "5XP 06/17/2025")]),
        ("15SEXM", [("label", "OTHER"), ("value", "M")]),
        ("EXP01-05-2014", [("label", "EXP"), ("value", "01-05-2014")]),
        ("1SAMPLE", [("label", "LAST"), ("value", "SAMPLE")]),
        ("2 JOHN A", [("label", "GIVEN"), ("value", "JOHN A")]),
        (
            "5 DD 03/26/2018 Rev 02/22/2016",
            [("label", "NODATE"), ("value", "03/26/2018"), ("label", "NODATE"), ("value", "02/22/2016")],
        ),
    ],
)
def test_glued_labels_are_split_from_values(text, expected):
    got = [(s.kind, s.key if s.kind == "label" else s.text) for s in layout.segments(Line(text, 99, 0, 0, 400, 20))]
    assert got == expected


@pytest.mark.parametrize(
    "text",
    [
        "123 MAIN STREET",
        "NORTH QUINCY, MA 02171-1748",
        "ENHANCED",
        "Operation of a motor vehicle constitutes consent to any sobriety test",
        "DRIVER LICENSE",
        "SEXTON",
        "NOEL",
        "LINCOLN",
        "APT.1",
    ],
)
def test_words_that_are_not_labels_stay_values(text):
    segs = layout.segments(Line(text, 99, 0, 0, 400, 20))
    assert all(s.kind == "value" for s in segs), [(s.kind, s.text) for s in segs]


def test_value_right_of_or_under_its_label():
    v = read(
        box("4d IDN", 200, 110, 250, 128),
        box("300038099904", 255, 106, 430, 134),
        box("4b EXP", 450, 100, 520, 118),
        box("02/21/2031", 450, 122, 560, 142),
        box("3 DOB", 450, 150, 510, 168),
        box("02/21/1984", 450, 172, 560, 192),
    )
    assert v["DOCUMENT_NUMBER"] == "300038099904"
    assert (v["EXPIRATION_DATE"], v["DATE_OF_BIRTH"]) == ("2031-02-21", "1984-02-21")


def test_a_label_word_is_never_a_value():
    v = read(
        box("2 GIVEN NAMES", 200, 100, 330, 118),
        box("NONE", 200, 122, 260, 142),
        box("1 FAMILY NAME", 200, 60, 330, 78),
        box("CLASS", 200, 82, 260, 98),
    )
    assert "FIRST_NAME" not in v and "LAST_NAME" not in v


# ------------------------------------------------------------------ names


def licence(*name_lines, signature=None, numbered=True):
    """Boxes of a licence front with the given name lines above the address block."""
    boxes = [box("DRIVER LICENSE", 300, 20, 500, 45)]
    if numbered:
        boxes.append(box("4d DLN 123456789", 200, 60, 400, 82))
        boxes.append(box("15 SEX M", 200, 280, 280, 298))
    else:
        boxes.append(box("NO. 123456789", 200, 60, 400, 82))
    y = 100
    for text in name_lines:
        boxes.append(box(text, 200, y, 200 + 14 * len(text), y + 24))
        y += 28
    boxes.append(box("123 MAIN ST", 200, y, 330, y + 22))
    boxes.append(box("ANYTOWN, OH 43004", 200, y + 26, 380, y + 48))
    if signature:
        boxes.append(box(signature, 20, 320, 180, 360))
    return boxes


@pytest.mark.parametrize(
    "lines,signature,first,last",
    [
        (("1 SAMPLE", "2 JOHN Q"), None, "JOHN", "SAMPLE"),  # AAMVA numbers
        (("SAMPLE", "2 JOHN Q"), None, "JOHN", "SAMPLE"),  # 1 illegible: the line above 2
        (("SAMPLE", "JOHN Q"), None, "JOHN", "SAMPLE"),  # no labels: AAMVA order
        (("JOHN", "SAMPLE"), "John Sample", "JOHN", "SAMPLE"),  # the signature: given name first
        (("SAMPLE", "JOHN"), "John Sample", "JOHN", "SAMPLE"),
        (("SAMPLE, JOHN Q",), None, "JOHN", "SAMPLE"),  # one line with a comma
        (("2SAMPLE, CARON LYNN",), None, "CARON", "SAMPLE"),  # "1,2" read as 2
        (("12DOE", "JANE"), None, "JANE", "DOE"),  # "1,2" read as 12
        (("l MULLER", "Z OMAR ANN JR"), None, "OMAR", "MULLER"),  # field numbers read as letters
        (("CARD", "OREGON SAMPLE, SR"), None, "OREGON", "CARD"),  # a state's name as a given name
    ],
)
def test_name_lines_and_their_order(lines, signature, first, last):
    v = read(*licence(*lines, signature=signature))
    assert (v.get("FIRST_NAME"), v.get("LAST_NAME")) == (first, last)


def test_given_names_split_first_middle_suffix():
    v = read(*licence("1 SAMPLE", "2 OREGON SAMPLE, SR"))
    assert (v["FIRST_NAME"], v["MIDDLE_NAME"], v["SUFFIX"]) == ("OREGON", "SAMPLE", "SR")
    v = read(*licence("1 SAMPLE", "2 Q.JOHN"))
    assert (v["FIRST_NAME"], v["MIDDLE_NAME"]) == ("Q", "JOHN")


def test_a_house_number_read_as_field_1_is_still_the_address():
    v = read(
        *licence("CONNOR", "SAMPLE", signature="Connor Sample")[:-3],
        box("1 WONDERFUL DRIVE", 200, 156, 380, 178),
        box("MONTGOMERY AL 36104-1234", 200, 182, 440, 204),
        box("Connor Sample", 20, 320, 180, 360),
    )
    assert (v["FIRST_NAME"], v["LAST_NAME"], v["ADDRESS"]) == ("CONNOR", "SAMPLE", "1 WONDERFUL DRIVE")


def test_vertical_and_ghost_text_is_not_a_name():
    boxes = licence("SAMPLE", "JOHN")
    boxes.append(box("SAMPLE", 20, 100, 40, 260))  # printed up the side of the portrait
    v = read(*boxes)
    assert (v["FIRST_NAME"], v["LAST_NAME"]) == ("JOHN", "SAMPLE")


def test_given_names_glued_by_the_recogniser_take_a_second_look():
    boxes = licence("1 DOE", "2 JEFFERYJAMES")
    v = read(*boxes, reread=lambda b: ["2 JEFFERY JAMES"] if "JEFFERY" in b.text else [b.text])
    assert (v["FIRST_NAME"], v["MIDDLE_NAME"]) == ("JEFFERY", "JAMES")
    v = read(*boxes, reread=lambda b: ["2 JEFFERY LAMES"])  # different letters: no split
    assert v["FIRST_NAME"] == "JEFFERYJAMES"


# ------------------------------------------------------------------ dates


def test_numbered_fields_and_lookalikes():
    v = values(
        parse_rows(
            make_rows(
                "FLORIDA DRIVER LICENSE",
                "4d DLN D123-456-78-901-0",
                "l MULLER",
                "Z OMAR ANN JR",
                "8 77 0AK AVE",
                "AUSTIN, TX 78701-1234",
                "3 D0B 09/05/1987",
                "4a ISS 10/16/2020",
                "4b EXP 09/05/2028",
                "9 CLASS C 9a END NONE 12 RESTR B",
            )
        )
    )
    assert v["DOCUMENT_NUMBER"] == "D123-456-78-901-0"
    assert (v["LAST_NAME"], v["FIRST_NAME"], v["MIDDLE_NAME"], v["SUFFIX"]) == ("MULLER", "OMAR", "ANN", "JR")
    assert (v["ADDRESS"], v["CITY_IN_ADDRESS"], v["STATE_IN_ADDRESS"], v["ZIP_CODE_IN_ADDRESS"]) == (
        "77 OAK AVE",
        "AUSTIN",
        "TX",
        "78701-1234",
    )
    assert (v["DATE_OF_BIRTH"], v["DATE_OF_ISSUE"], v["EXPIRATION_DATE"]) == ("1987-09-05", "2020-10-16", "2028-09-05")
    assert (v["CLASS"], v["ENDORSEMENTS"], v["RESTRICTIONS"]) == ("C", "NONE", "B")
    assert v["STATE_NAME"] == "FLORIDA" and v["ID_TYPE"] == "DRIVER LICENSE FRONT"


def test_dates_by_order_when_labels_are_misread():
    v = values(parse_rows(make_rows("EKP 04/20/2028", "D8 04/20/1990", "1SS 01/01/2020")))
    assert v["DATE_OF_BIRTH"] == "1990-04-20"
    assert v["DATE_OF_ISSUE"] == "2020-01-01"
    assert v["EXPIRATION_DATE"] == "2028-04-20"


def test_dates_by_order_when_labels_contradict_the_dates():
    v = values(parse_rows(make_rows("3 DOB 04/20/2028", "4a ISS 04/20/1990", "4b EXP 01/01/2020")))
    assert (v["DATE_OF_BIRTH"], v["DATE_OF_ISSUE"], v["EXPIRATION_DATE"]) == ("1990-04-20", "2020-01-01", "2028-04-20")


def test_ghost_revision_and_replacement_dates_are_not_the_holders():
    v = values(
        parse_rows(
            make_rows(
                "01/01/74", "REV 07/01/2031", "REPLACED:08-16-1950", "5 DD 03/26/1940", "DOB 01-01-1974", "04/20/2030"
            )
        )
    )
    assert (v["DATE_OF_BIRTH"], v["EXPIRATION_DATE"]) == ("1974-01-01", "2030-04-20")


def test_two_dates_glued_and_a_field_number_glued_to_a_date():
    v = values(parse_rows(make_rows("01/12/2024 01/12/1967", "300807/15/1980")))
    assert v["DATE_OF_BIRTH"] == "1967-01-12" and v["EXPIRATION_DATE"] == "2024-01-12"


def test_impossible_dates_are_ignored():
    v = values(parse_rows(make_rows("3 DOB 13/45/1990", "4b EXP 04/20/2028")))
    assert "DATE_OF_BIRTH" not in v
    assert v["EXPIRATION_DATE"] == "2028-04-20"


def test_nothing_recognisable():
    assert parse_rows(make_rows("HELLO WORLD", "SPECIMEN")) == {}


# ------------------------------------------------------------------ document numbers


def test_number_read_by_the_states_published_format():
    boxes = [
        box("California", 20, 10, 250, 60),
        box("DL11234562", 200, 80, 380, 110),
        box("EXP 08/31/2031", 200, 115, 360, 135),
    ]
    v = read(*boxes)
    assert v["DOCUMENT_NUMBER"] == "I1234562"  # CA: a letter and seven digits
    with dlformats.excluding("CA"):
        assert read(*boxes)["DOCUMENT_NUMBER"] == "11234562"  # as recognised


def test_number_keeps_its_letters():
    v = read(box("WASHINGTON", 40, 20, 300, 60), box("4dLIC#WDLABCD456DG 9CLASS", 200, 80, 520, 108))
    assert v["DOCUMENT_NUMBER"] == "WDLABCD456DG"
    v = values(parse_rows(make_rows("4d DLN S512-594-11-468-6 DRIVERL", "DLN 123 456 789")))
    assert v["DOCUMENT_NUMBER"] == "S512-594-11-468-6"
    assert values(parse_rows(make_rows("DLN 123 456 789")))["DOCUMENT_NUMBER"] == "123456789"


def test_unlabelled_number_found_by_the_states_format_then_top_first():
    boxes = [
        box("Florida", 200, 5, 400, 50),
        box("DRIVER LICENSE CLASS E", 230, 50, 500, 70),
        box("S514-172-80-844-0", 220, 72, 500, 100),
        box("JOE", 200, 105, 250, 128),
        box("SAMPLE", 200, 130, 290, 152),
        box("921 GETAWAY LANE", 200, 156, 380, 176),
        box("TALLAHASSEE, FL 32317", 200, 178, 430, 198),
        box("0123456789012", 220, 370, 480, 392),
    ]
    v = values(parse(boxes, 600, 400).fields)
    assert v["DOCUMENT_NUMBER"] == "S514-172-80-844-0"
    with dlformats.excluding("FL"):
        assert values(parse(boxes, 600, 400).fields)["DOCUMENT_NUMBER"] == "S514-172-80-844-0"


def test_unlabelled_token_not_of_the_states_format_is_not_a_number():
    boxes = [box("OHIO", 20, 10, 200, 50), box("5OO101230320002", 200, 360, 480, 385)]
    assert "DOCUMENT_NUMBER" not in read(*boxes)


@pytest.mark.parametrize(
    "state,raw,fitted",
    [
        ("CA", "11234562", "I1234562"),
        ("AZ", "DO8954796", "D08954796"),
        ("FL", "S514-172-80-844-0", "S514172808440"),
        ("NH", "NHL12506717", "NHL12506717"),
        ("IA", "123XX6789", "123XX6789"),
    ],
)
def test_state_formats(state, raw, fitted):
    assert dlformats.read(state, raw)[0] == fitted


def test_state_format_never_changes_more_than_two_characters():
    assert dlformats.read("FL", "SSSS-172-80-844-0") is None
    assert dlformats.read("TX", "000000194") is None  # 9 digits: not Texas' published 7-8


# ------------------------------------------------------------------ confidence


def test_confidence_at_label_clear_by_position_shaky():
    fields = parse(licence("SAMPLE", "JOHN", signature=None), 640, 400).fields
    # names placed by position alone (no legible label) stay below the clear line
    assert fields["LAST_NAME"].confidence < CLEAR and fields["FIRST_NAME"].confidence < CLEAR
    fields = parse(licence("1 SAMPLE", "2 JOHN"), 640, 400).fields
    assert fields["LAST_NAME"].confidence >= CLEAR and fields["FIRST_NAME"].confidence >= CLEAR
    # a number failing the state's format is shaky even at its label
    fields = parse([box("TEXAS", 20, 10, 200, 50), box("4d DL 000000194", 200, 80, 400, 100)], 640, 400).fields
    assert fields["DOCUMENT_NUMBER"].value == "000000194" and fields["DOCUMENT_NUMBER"].confidence < CLEAR
    # dates placed by order are shaky, dates at their labels clear
    v = parse_rows(make_rows("04/20/2028", "04/20/1990"))
    assert v["DATE_OF_BIRTH"].confidence < CLEAR
    v = parse_rows(make_rows("3 DOB 04/20/1990", "4b EXP 04/20/2028"))
    assert v["DATE_OF_BIRTH"].confidence >= CLEAR


def test_low_ocr_score_is_shaky_even_at_the_label():
    fields = parse([box("3 DOB 04/20/1990", 200, 80, 400, 100, conf=60.0)], 640, 400).fields
    assert fields["DATE_OF_BIRTH"].confidence < CLEAR


# ------------------------------------------------------------------ rows (MRZ search)


def test_rows_do_not_merge_boxes_stacked_on_a_slant():
    a = Line("8 8155 PINE RD", 99, 100, 500, 420, 545)
    b = Line("SACRAMENTO, CA 95814", 99, 130, 528, 560, 572)  # next line, rotated photo
    c = Line("15 SEX M", 99, 600, 505, 760, 540)  # same line, to the right
    grouped = rows([a, b, c])
    assert [[x.text for x in r] for r in grouped] == [["8 8155 PINE RD", "15 SEX M"], ["SACRAMENTO, CA 95814"]]


def test_rows_merge_boxes_touching_side_by_side():
    number = Line("8", 100, 33, 240, 67, 270)
    street = Line("8244 OAK AVE", 99, 63, 239, 292, 270)  # padding overlaps by a few pixels
    assert [[x.text for x in r] for r in rows([street, number])] == [["8", "8244 OAK AVE"]]


def test_respacing_only_where_a_digit_or_label_word_meets():
    line = Line(
        "4T12345678902/01/1979", 97, 0, 0, 400, 20, (("4", 0, 10), ("T123456789", 30, 200), ("02/01/1979", 220, 400))
    )
    assert layout.respaced(line) == "4 T123456789 02/01/1979"
    line = Line("SAMPLE", 97, 0, 0, 100, 20, (("SAM", 0, 50), ("PLE", 55, 100)))
    assert layout.respaced(line) == "SAMPLE"


def test_usable_boxes():
    assert not reading.usable(Line("SAMPLE", 99, 0, 0, 20, 120))  # vertical
    assert not reading.usable(Line("a", 50, 0, 0, 10, 10))  # speck
    assert reading.usable(Line("8", 99, 0, 0, 8, 14))


def test_a_lower_case_mark_before_a_name_is_a_misread_field_number():
    v = read(*licence("uDOE", "JANE"))
    assert (v["LAST_NAME"], v["FIRST_NAME"]) == ("DOE", "JANE")


def test_a_label_with_its_value_in_its_box_does_not_take_the_box_below():
    v = read(box("2 RFBNE", 200, 60, 300, 80), *licence("SAMPLE", "CONNOR", signature="Connor Sample")[1:])
    assert (v["FIRST_NAME"], v["LAST_NAME"]) == ("CONNOR", "SAMPLE")


def test_a_field_number_overlapping_its_value_takes_it_not_the_line_below():
    boxes = [
        box("TEXAS", 20, 10, 200, 50),
        box("1", 300, 332, 332, 358),
        box("SAMPLE", 317, 327, 482, 363),
        box("Q.JOHN", 313, 360, 487, 398),
        box("2", 299, 371, 324, 392),
        box("12612 RIVER HILLS", 321, 432, 685, 469),
        box("ASPEN, TX 12345", 320, 465, 649, 505),
    ]
    v = read(*boxes)
    assert (v["LAST_NAME"], v["FIRST_NAME"], v["MIDDLE_NAME"]) == ("SAMPLE", "Q", "JOHN")


def test_given_names_perhaps_glued_are_shaky():
    fields = parse(licence("1 SAMPLE", "2 CARONLYNN", signature="Caron Sample"), 640, 400).fields
    assert fields["FIRST_NAME"].value == "CARONLYNN" and fields["FIRST_NAME"].confidence < CLEAR
    fields = parse(licence("1 SAMPLE", "2 CARON", signature="Caron Sample"), 640, 400).fields
    assert fields["FIRST_NAME"].confidence >= CLEAR


def test_a_run_of_repeated_characters_is_shaky():
    boxes = [box("NEBRASKA", 20, 10, 250, 50), box("4d DLN N9999999", 200, 80, 400, 100)]
    fields = parse(boxes, 640, 400).fields
    assert fields["DOCUMENT_NUMBER"].value == "N9999999" and fields["DOCUMENT_NUMBER"].confidence < CLEAR
