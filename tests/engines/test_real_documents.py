"""The blind reader on real specimen documents (../shared/fixtures/ids, labels read by eye).

Every labelled card is read once (and once photographed in software); each card must give no
machine-readable zone (none is printed on these fronts) and most of its core fields right;
over all cards the five core fields must be at least 95 % right (Textract on the same cards:
see `make bench`), and at least 90 % on the photographed cards.
Skipped with a message where the fixtures folder is absent."""

import pytest

pytest.importorskip("rapidocr")

from kyc_service.bench import engines as bench_engines
from kyc_service.bench.engines import CORE, right, values
from kyc_service.testdata import photos

CARDS = bench_engines.fixture_cards()
NAMES = [name for name, _, _ in CARDS] or ["(no fixtures)"]


def _need_fixtures():
    if not CARDS:
        pytest.skip(f"real ID fixtures not found under {bench_engines.fixtures_dir() / 'ids'} (set KYC_FIXTURES_DIR)")


@pytest.fixture(scope="module")
def readings():
    _need_fixtures()
    from kyc_service.engines.analyze import analyze

    return {name: analyze(path.read_bytes()) for name, path, _ in CARDS}


@pytest.fixture(scope="module")
def photographed():
    _need_fixtures()
    from kyc_service.engines.analyze import analyze

    return {
        name: analyze(photos.photograph(path.read_bytes(), **photos.photograph_settings(i)))
        for i, (name, path, _) in enumerate(CARDS)
    }


def _scored(label, read):
    out = {}
    for field in CORE:
        ok = right(field, label, read.get(field))
        if ok is not None:
            out[field] = ok
    return out


@pytest.mark.parametrize("name", NAMES)
def test_each_card(name, readings):
    label = next(label for n, _, label in CARDS if n == name)
    response = readings[name]
    read = values(response)
    consistency = response["KycConsistency"]
    # no bogus machine-readable zone: prose, dates and labels are never one
    assert "MRZ_CODE" not in read
    assert consistency["sources"]["machine_readable"] is None and "mrz_checks_failed" not in consistency
    scored = _scored(label, read)
    wrong = [f for f, ok in scored.items() if not ok]
    assert len(wrong) <= 1, {f: read.get(f) for f in wrong}
    for item in response["IdentityDocuments"][0]["IdentityDocumentFields"]:
        assert 0 <= item["ValueDetection"]["Confidence"] <= 100


def test_core_fields_overall(readings):
    total = right_count = 0
    for name, _, label in CARDS:
        scored = _scored(label, values(readings[name]))
        total += len(scored)
        right_count += sum(scored.values())
    assert right_count / total >= 0.95, f"{right_count}/{total}"


def test_photographed_cards_overall(photographed):
    total = right_count = 0
    for name, _, label in CARDS:
        scored = _scored(label, values(photographed[name]))
        total += len(scored)
        right_count += sum(scored.values())
    assert right_count / total >= 0.90, f"{right_count}/{total}"


def test_clear_readings_are_mostly_right(readings):
    """Confidence means something: fields at >= 85 are right far more often than not."""
    clear = clear_right = 0
    for name, _, label in CARDS:
        response = readings[name]
        read = values(response)
        conf = {
            i["Type"]["Text"]: i["ValueDetection"]["Confidence"]
            for i in response["IdentityDocuments"][0]["IdentityDocumentFields"]
        }
        for field, ok in _scored(label, read).items():
            if conf.get(field, 0) >= 85:
                clear += 1
                clear_right += ok
    assert clear and clear_right / clear >= 0.97, f"{clear_right}/{clear}"
