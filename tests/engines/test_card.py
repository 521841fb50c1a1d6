"""Finding and flattening the document in a photograph; turning the page upright."""

import io

import pytest

pytest.importorskip("cv2")

from kyc_service.engines.card import find_document
from kyc_service.engines.images import load_rgb
from kyc_service.testdata import docgen, photos


@pytest.fixture(scope="module")
def front():
    from kyc_service.testdata import samples

    png, _ = docgen.make_licence(docgen.random_details(61), samples.portrait_image(), layout=1)
    return png


def test_a_scan_is_left_as_it_is(front):
    img = load_rgb(front)
    found = find_document(img)
    assert not found.warped and found.image is img


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_a_photographed_card_is_found_and_flattened_long_side_across(front, turns):
    photo = load_rgb(photos.photograph(front, seed=7 + turns, quarter_turns=turns, perspective=0.06, blur=0.8))
    found = find_document(photo)
    assert found.warped
    w, h = found.image.size
    assert 1.35 < w / h < 1.85  # a card's proportions, long side horizontal
    assert w < photo.width  # the background is gone


def test_nothing_to_find_on_a_plain_picture():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), (120, 120, 120)).save(buf, "PNG")
    found = find_document(load_rgb(buf.getvalue()))
    assert not found.warped


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_ocr_turns_the_page_upright(front, turns):
    pytest.importorskip("rapidocr")
    from PIL import Image

    from kyc_service.engines import ocr

    img = load_rgb(front).rotate(90 * turns, expand=True)  # PIL turns counter-clockwise
    page = ocr.read_page(img)
    assert page.rotation == (360 - 90 * turns) % 360
    assert page.width > page.height
    assert any("DLN" in line.text.upper() for line in page.lines)
    assert isinstance(img, Image.Image)


def test_photograph_settings_cover_every_quarter_turn():
    assert sorted({photos.photograph_settings(i)["quarter_turns"] for i in range(8)}) == [0, 1, 2, 3]
