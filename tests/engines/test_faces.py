import io
import itertools
import threading

import pytest

from chalicelib.providers.port import UnusableInput
from kyc_service.engines.faces import CALIBRATION, similarity_from_distance

VERIFY, REVIEW = 95.0, 80.0
EDGE = {"two_people.jpg", "obama_partial_face.jpg"}


def person(name: str) -> str:
    stem = name.rsplit(".", 1)[0]
    return stem.replace("_480p", "").rstrip("_0123456789")


def _pairs(face_sets, genuine: bool):
    names = sorted(n for n in face_sets if n not in EDGE)
    return [(a, b) for a, b in itertools.combinations(names, 2) if (person(a) == person(b)) == genuine]


def test_calibration_is_monotone():
    ds = [d for d, _ in CALIBRATION]
    ss = [s for _, s in CALIBRATION]
    assert ds == sorted(ds) and ss == sorted(ss, reverse=True)
    grid = [i / 100 for i in range(160)]
    sims = [similarity_from_distance(d) for d in grid]
    assert all(a >= b for a, b in itertools.pairwise(sims))
    assert similarity_from_distance(0.53) >= VERIFY
    assert similarity_from_distance(0.61) < REVIEW


def test_fixture_face_counts(face_sets):
    assert face_sets["two_people.jpg"].count == 2
    for name, fs in face_sets.items():
        if name != "two_people.jpg":
            assert fs.count == 1, name


def test_genuine_pairs_verify(face_engine, face_sets):
    pairs = _pairs(face_sets, genuine=True)
    assert len(pairs) == 10 + 1 + 1 + 1 + 1
    for a, b in pairs:
        sim = similarity_from_distance(face_engine.best_distance(face_sets[a], face_sets[b]))
        assert sim >= VERIFY, (a, b, sim)


def test_impostor_pairs_below_review(face_engine, face_sets):
    pairs = _pairs(face_sets, genuine=False)
    assert len(pairs) > 50
    for a, b in pairs:
        sim = similarity_from_distance(face_engine.best_distance(face_sets[a], face_sets[b]))
        assert sim < REVIEW, (a, b, sim)


def test_partial_face_still_matches_obama(face_engine, face_sets):
    d = face_engine.best_distance(face_sets["obama_partial_face.jpg"], face_sets["obama_1.jpg"])
    assert similarity_from_distance(d) >= REVIEW
    d = face_engine.best_distance(face_sets["obama_partial_face.jpg"], face_sets["biden_1.jpg"])
    assert similarity_from_distance(d) < REVIEW


def test_compare_end_to_end(face_engine, faces_dir):
    res = face_engine.compare((faces_dir / "two_people.jpg").read_bytes(), (faces_dir / "obama_1.jpg").read_bytes())
    assert res.source_face_count == 2 and res.target_face_count == 1
    assert res.similarity is not None


def test_no_face_gives_none(face_engine):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (300, 300), "white").save(buf, "PNG")
    res = face_engine.compare(buf.getvalue(), buf.getvalue())
    assert res.similarity is None and res.source_face_count == 0


@pytest.mark.parametrize("data", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\0" * 50])
def test_unreadable_raises_unusable(face_engine, data):
    with pytest.raises(UnusableInput):
        face_engine.compare(data, data)


def test_modes_and_exif(face_engine, faces_dir):
    import numpy as np
    from PIL import Image

    base = Image.open(faces_dir / "obama_1.jpg").convert("RGB")
    ref = face_engine.faces((faces_dir / "obama_1.jpg").read_bytes())
    variants = []
    for mode in ("RGBA", "L", "P"):
        buf = io.BytesIO()
        base.convert(mode).save(buf, "PNG")
        variants.append(buf.getvalue())
    grey16 = np.asarray(base.convert("L"), dtype=np.uint16) * 257
    buf = io.BytesIO()
    Image.fromarray(grey16).save(buf, "PNG")
    variants.append(buf.getvalue())
    # rotated pixels + EXIF orientation 6 (rotate 90 CW on display) = upright face
    rotated = base.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    rotated.save(buf, "JPEG", exif=exif.tobytes())
    variants.append(buf.getvalue())
    for data in variants:
        fs = face_engine.faces(data)
        assert fs.count == 1
        assert face_engine.best_distance(fs, ref) < 0.45


def test_small_portrait_needs_upsample(face_engine, faces_dir):
    from PIL import Image

    img = Image.open(faces_dir / "obama_1.jpg").convert("RGB")
    img.thumbnail((110, 110))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    assert face_engine.faces(buf.getvalue()).count == 1


def test_threads_share_the_engine(face_engine, faces_dir):
    a = (faces_dir / "biden_1.jpg").read_bytes()
    b = (faces_dir / "biden_2.jpg").read_bytes()
    expected = face_engine.compare(a, b).similarity
    results, errors = [], []

    def run():
        try:
            results.append(face_engine.compare(a, b).similarity)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [expected] * 4


def test_samples_genuine_and_impostor(face_engine):
    pytest.importorskip("skimage")
    from kyc_service.testdata import samples

    selfie, portrait = samples.genuine_pair()
    assert face_engine.compare(selfie, portrait).similarity >= VERIFY
    assert face_engine.compare(samples.impostor_selfie(), portrait).similarity < REVIEW
