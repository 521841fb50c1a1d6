"""End to end with a real licence: a stage on moto server, the app's real stream handlers fed
by the local pollers, and the self-hosted engines reading a real specimen licence from
../shared/fixtures/ids (skipped with a message where absent).

The applicant's selfie is a crop of the card's own portrait, enlarged. The genuine application
must be verified (face and details); the same application with one field changed (the
document number) must not be. The specimen cards' expiry dates are in the past or near: the
verifier's `today` is pinned inside the card's validity (issue date + one year) so that the
test does not depend on the day it runs."""

from __future__ import annotations

import datetime as dt
import io

import pytest

pytest.importorskip("rapidocr")
pytest.importorskip("dlib")

TENANT = "realcards"
# (fixture card, submitted details as the holder would type them)
CARDS = {
    "kentucky.png": {
        "first_name": "Kim",
        "middle_name": "",
        "last_name": "Sample",
        "date_of_birth": "1980-07-15",
        "id_value": "S00-000-001",
        "issued": "2019-02-15",
    },
    "illinois.png": {
        "first_name": "Jane",
        "middle_name": "Q",
        "last_name": "Public",
        "date_of_birth": "1987-11-14",
        "id_value": "P142-4558-7924",
        "issued": "2019-01-01",
    },
}


def _card(name: str) -> bytes:
    from tests.conftest import fixtures_dir

    path = fixtures_dir("ids") / "us-licences" / name
    if not path.is_file():
        pytest.skip(f"real licence fixture {path} not found (set KYC_FIXTURES_DIR)")
    return path.read_bytes()


def _selfie_from_portrait(card: bytes) -> bytes:
    """The card's largest face, with a margin, three times larger: a 'selfie' of the holder."""
    import dlib
    import numpy as np
    from PIL import Image

    img = Image.open(io.BytesIO(card)).convert("RGB")
    rects = dlib.get_frontal_face_detector()(np.asarray(img), 1)
    assert rects, "no portrait found on the card"
    r = max(rects, key=lambda r: r.area())
    m = int(0.6 * r.width())
    crop = img.crop(
        (max(0, r.left() - m), max(0, r.top() - m), min(img.width, r.right() + m), min(img.height, r.bottom() + m))
    )
    crop = crop.resize((crop.width * 3, crop.height * 3), Image.LANCZOS)
    buf = io.BytesIO()
    crop.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def engines(monkeypatch):
    from kyc_service.engines.adapter import SelfHostedProvider

    monkeypatch.setattr("chalicelib.services.provider", SelfHostedProvider.shared)


def _pin_today(monkeypatch, day: dt.date):
    from chalicelib.handlers import verifier

    monkeypatch.setattr(verifier, "utc_today", lambda: day)


def _submit(stage, email: str, details: dict, card: bytes, selfie: bytes):
    from chalicelib.config import settings
    from chalicelib.http.validation import parse_submission
    from chalicelib.services import store

    body = {
        "email": email,
        "first_name": details["first_name"],
        "last_name": details["last_name"],
        "date_of_birth": details["date_of_birth"],
        "id_type": "Driving license",
        "id_value": details["id_value"],
        "document_links": [
            {"kind": "id_front", "key": stage.upload(TENANT, "id_front", card)},
            {"kind": "selfie", "key": stage.upload(TENANT, "selfie", selfie)},
        ],
    }
    if details.get("middle_name"):
        body["middle_name"] = details["middle_name"]
    record, _, _ = store().save(TENANT, parse_submission(body, "local", TENANT, settings()))
    return record


def _current(record):
    from chalicelib.services import store

    return store().get(TENANT, record.email, record.id_type, record.id_value)


@pytest.mark.parametrize("name", sorted(CARDS))
def test_genuine_application_with_a_real_licence_is_verified(stage, engines, monkeypatch, name):
    details = CARDS[name]
    card = _card(name)
    _pin_today(monkeypatch, dt.date.fromisoformat(details["issued"]) + dt.timedelta(days=365))
    record = _submit(stage, f"genuine-{name}@example.com", details, card, _selfie_from_portrait(card))
    stage.manager.drain()
    rec = _current(record)
    checks = rec.checks.as_dict()
    assert rec.validation_status == "verified", (rec.reasons, checks)
    assert checks["face_match"]["passed"] and checks["details_match"]["passed"]


def test_the_same_application_with_a_changed_document_number_is_not_verified(stage, engines, monkeypatch):
    name = "kentucky.png"
    details = dict(CARDS[name], id_value="S00-000-002")
    card = _card(name)
    _pin_today(monkeypatch, dt.date.fromisoformat(details["issued"]) + dt.timedelta(days=365))
    record = _submit(stage, "changed-number@example.com", details, card, _selfie_from_portrait(card))
    stage.manager.drain()
    rec = _current(record)
    checks = rec.checks.as_dict()
    assert rec.validation_status != "verified", checks
    assert checks["details_match"]["passed"] is False
    assert checks["details_match"]["fields"]["DOCUMENT_NUMBER"]["passed"] is False
    assert any("document number" in reason for reason in rec.reasons)
