"""The self-hosted quality gates on real photographs (../shared/fixtures/faces): every genuine
one-face photo passes; the same photos blurred, or with the face made small in a large frame,
fail the gate that says what to retake."""

from __future__ import annotations

import io

import pytest

from chalicelib.domain.quality import MIN_SHARPNESS, MIN_SIZE, quality_check


def _single(face_sets):
    return {name: s for name, s in face_sets.items() if s.count == 1}


def test_every_genuine_one_face_photo_passes_the_gates(face_sets):
    singles = _single(face_sets)
    assert len(singles) >= 10
    failed = {
        name: quality_check(s.qualities[0])[1]
        for name, s in singles.items()
        if not quality_check(s.qualities[0])[0]["passed"]
    }
    assert failed == {}


def _jpeg(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    return buf.getvalue()


@pytest.mark.parametrize("name", ["obama_1.jpg", "rose_leslie_2.jpg", "alex_lacamoire_1.jpg"])
def test_a_blurred_selfie_fails_the_sharpness_gate(face_engine, faces_dir, name):
    from PIL import Image, ImageFilter

    img = Image.open(faces_dir / name).convert("RGB")
    img.thumbnail((800, 800))
    found = face_engine.faces(_jpeg(img.filter(ImageFilter.GaussianBlur(6))))
    if found.count != 1:
        pytest.skip("the blurred face is no longer detected at all (the face check rejects it)")
    check, retake = quality_check(found.qualities[0])
    assert check["gates"]["sharpness"]["passed"] is False and check["gates"]["sharpness"]["value"] < MIN_SHARPNESS
    assert any("blurred" in r for r in retake)


def test_a_face_small_in_a_large_frame_fails_the_size_gate(face_engine, faces_dir):
    from PIL import Image

    img = Image.open(faces_dir / "obama_1.jpg").convert("RGB")
    img.thumbnail((400, 400))
    canvas = Image.new("RGB", (img.width * 5, img.height * 5), (200, 200, 200))
    canvas.paste(img, (img.width * 2, img.height * 2))
    found = face_engine.faces(_jpeg(canvas))
    assert found.count == 1
    check, retake = quality_check(found.qualities[0])
    assert check["gates"]["size"]["value"] < MIN_SIZE and not check["passed"]
    assert any("too small" in r for r in retake)
