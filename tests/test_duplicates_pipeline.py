"""The duplicate check end to end on a local stage (moto server, the app's stream handlers through
the local pollers) with the self-hosted face engine on real photographs (../shared/fixtures/faces;
skipped where absent): another photo of a verified customer's face, or their ID number, under
another e-mail of the same tenant goes to needs_review; the same face in another tenant, and
another person in the same tenant, are verified; erasure removes the face data.

The document reading is the one thing faked (the photos are not ID cards): a Textract-shaped answer
that holds exactly what was submitted, so that the face and the duplicate check decide."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

pytest.importorskip("dlib")

TENANT, OTHER = "dupes", "elsewhere"


def _photo(name: str) -> bytes:
    from tests.conftest import fixtures_dir

    path = fixtures_dir("faces") / name
    if not path.is_file():
        pytest.skip(f"face fixture {path} not found (set KYC_FIXTURES_DIR)")
    return path.read_bytes()


class RealFacesProvider:
    """The self-hosted provider's faces (compare, index, search: real dlib on real photos); the
    document answers with the submitted details."""

    name = "selfhosted"

    def __init__(self):
        from kyc_service.engines.adapter import SelfHostedProvider

        self.engine = SelfHostedProvider.shared()
        self.compare_faces = self.engine.compare_faces
        self.index_face = self.engine.index_face
        self.search_faces = self.engine.search_faces

    def analyze_id(self, front, back=None, claim=None):
        from tests.pipeline_support import textract_fields

        return textract_fields(number=(claim or {}).get("id_value", "X1"))


@pytest.fixture
def faces_stage(stage, monkeypatch):
    from chalicelib.storage.tenants import save_overrides

    provider = RealFacesProvider()
    monkeypatch.setattr("chalicelib.services.provider", lambda: provider)
    for tenant in (TENANT, OTHER):
        save_overrides(tenant, {"duplicate_check": True})
    yield stage
    for tenant in (TENANT, OTHER):
        save_overrides(tenant, {})


def _apply(stage, tenant: str, email: str, front: str, selfie: str, id_value: str):
    from chalicelib.config import settings
    from chalicelib.http.validation import parse_submission
    from chalicelib.services import store

    body = {
        "email": email,
        "first_name": "Ashish",
        "last_name": "Palankar",
        "date_of_birth": "1990-04-20",
        "id_type": "Driving license",
        "id_value": id_value,
        "document_links": [
            {"kind": "id_front", "key": stage.upload(tenant, "id_front", _photo(front))},
            {"kind": "selfie", "key": stage.upload(tenant, "selfie", _photo(selfie))},
        ],
    }
    record, _, _ = store().save(tenant, parse_submission(body, "local", tenant, settings()))
    stage.manager.drain()
    stage.manager.drain()  # the decision's own stream record: the face index follows it
    current = store().get(tenant, email, "Driving license", id_value)
    assert current is not None
    return current


def _registry(tenant: str) -> list:
    from chalicelib.storage import faces

    return list(faces.entries(tenant))


def test_the_same_face_or_id_number_in_a_tenant_asks_for_review_never_across_tenants(faces_stage, env, issuer):
    from chalicelib.storage.models import plain

    first = _apply(faces_stage, TENANT, "first@example.com", "obama_1.jpg", "obama_2.jpg", "D100-0001")
    assert first.validation_status == "verified", first.reasons
    assert first.checks.as_dict()["duplicate"]["passed"] is True
    assert [e.email for e in _registry(TENANT)] == ["first@example.com"]
    # the ID portrait is kept: a crop of the face on the ID, stored as biometric evidence
    portrait = [link for link in map(plain, first.document_links) if link["kind"] == "id_portrait"]
    assert len(portrait) == 1 and portrait[0]["evidence_key"].startswith("evidence/biometric/dupes/")
    assert faces_stage.s3.get_object(Bucket="local-kyc-documents", Key=portrait[0]["evidence_key"])["ContentLength"]

    # another photo of the same person, another e-mail and ID number: the same face
    second = _apply(faces_stage, TENANT, "second@example.com", "obama_3.jpg", "obama_5.jpg", "D100-0002")
    assert second.validation_status == "needs_review"
    assert second.checks.as_dict()["face_match"]["passed"] is True
    dup = second.checks.as_dict()["duplicate"]
    assert dup["passed"] is False and dup["matches"] == 1 and dup["matched"][0]["via"] == "face"
    assert any("already be registered" in r for r in second.reasons)
    assert not any("first@example.com" in r for r in second.reasons)
    assert len(_registry(TENANT)) == 1  # only verified customers are indexed

    # the same face in another tenant: nothing of the first tenant is searched
    other = _apply(faces_stage, OTHER, "first@example.com", "obama_3.jpg", "obama_5.jpg", "D100-0002")
    assert other.validation_status == "verified", other.reasons
    assert other.checks.as_dict()["duplicate"] == {
        "passed": True,
        "matches": 0,
        "face_search": True,
        "matched": [],
    }

    # another person in the same tenant is not a duplicate
    biden = _apply(faces_stage, TENANT, "third@example.com", "biden_1.jpg", "biden_2.jpg", "D100-0003")
    assert biden.validation_status == "verified", biden.reasons

    # the first customer's ID number under another e-mail, another face: the ID number matches
    number = _apply(faces_stage, TENANT, "fourth@example.com", "rose_leslie_1.jpg", "rose_leslie_2.jpg", "d1000001")
    assert number.validation_status == "needs_review"
    assert [m["via"] for m in number.checks.as_dict()["duplicate"]["matched"]] == ["id_number"]

    # a number held by an unverified customer of the tenant (second: needs_review), and verified
    # only in another tenant: no match (an impostor cannot block a number; tenants never meet)
    alex = _apply(faces_stage, TENANT, "sixth@example.com", "alex_lacamoire_1.jpg", "alex_lacamoire_2.jpg", "D100-0002")
    assert alex.validation_status == "verified", alex.reasons
    assert alex.checks.as_dict()["duplicate"]["matches"] == 0

    # the customer sees that it matched, not whom; the tenant's admin sees the matched record
    from tests.erasure_support import api_client

    with api_client(env, issuer) as http:
        path = f"/kyc/stage/local/tenant/{TENANT}/email/{quote('second@example.com')}"
        user = issuer.token(tenant=TENANT, email="second@example.com")
        seen = http.http.get(path, headers={"Authorization": f"Bearer {user}"}).json_body["records"][0]
        assert seen["checks"]["duplicate"] == {"passed": False, "matches": 1}
        assert "first@example.com" not in json.dumps(seen)
        admin = issuer.token(tenant=TENANT, email="admin@example.com", admin=True)
        seen = http.http.get(path, headers={"Authorization": f"Bearer {admin}"}).json_body["records"][0]
        assert [(r["email"], r["via"], r["found"]) for r in seen["checks"]["duplicate"]["records"]] == [
            ("first@example.com", "face", True)
        ]

        # erasure removes the customer's face data (and the portrait crop with the evidence)
        r = http.http.delete(
            f"/kyc/stage/local/tenant/{TENANT}/email/{quote('first@example.com')}",
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert r.status_code == 200, r.body
        # the matched customer is gone: the admin sees a match that no longer resolves
        seen = http.http.get(path, headers={"Authorization": f"Bearer {admin}"}).json_body["records"][0]
        assert seen["checks"]["duplicate"]["records"] == [
            {"via": "face", "similarity": pytest.approx(98.5, abs=1.5), "found": False}
        ]
    assert sorted(e.email for e in _registry(TENANT)) == ["sixth@example.com", "third@example.com"]
    assert [e.email for e in _registry(OTHER)] == ["first@example.com"]  # the other tenant's customer stays
    listed = faces_stage.s3.list_object_versions(Bucket="local-kyc-documents", Prefix=portrait[0]["evidence_key"])
    assert not listed.get("Versions")
    # a new applicant with the erased customer's face is no longer a duplicate of anyone
    again = _apply(faces_stage, TENANT, "fifth@example.com", "obama_4_480p.jpg", "obama_1.jpg", "D100-0005")
    assert again.validation_status == "verified", again.reasons


def test_a_replayed_decision_indexes_the_face_once(faces_stage):
    """At-least-once delivery: the decision's stream record again changes nothing."""
    from chalicelib.handlers import signals

    record = _apply(faces_stage, TENANT, "replay@example.com", "kit_harington_1.jpg", "kit_harington_2.jpg", "K1")
    assert record.validation_status == "verified", record.reasons
    mine = [e for e in _registry(TENANT) if e.email == "replay@example.com"]
    assert len(mine) == 1
    provider = RealFacesProvider()
    assert signals.follow_decision(record, provider) == "kept"
    assert [e.sk for e in _registry(TENANT) if e.email == "replay@example.com"] == [mine[0].sk]


def test_the_face_index_follows_an_admins_decisions(faces_stage, env, issuer):
    """An admin who verifies the customer a duplicate held for review puts their face in the index;
    a later rejection takes it out again (only verified customers are indexed)."""
    from tests.erasure_support import api_client

    first = _apply(faces_stage, TENANT, "rose1@example.com", "rose_leslie_1.jpg", "rose_leslie_2.jpg", "R1")
    assert first.validation_status == "verified", first.reasons
    second = _apply(faces_stage, TENANT, "rose2@example.com", "rose_leslie_2.jpg", "rose_leslie_1.jpg", "R2")
    assert second.validation_status == "needs_review"

    def validate(status: str, email: str = "rose2@example.com", number: str = "R2") -> None:
        body = {"id_type": "Driving license", "id_value": number, "verification_status": status, "reason": "checked"}
        if status == "rejected":
            body["final"] = False
        with api_client(env, issuer) as http:
            r = http.http.post(
                f"/kyc/stage/local/tenant/{TENANT}/email/{quote(email)}/validate",
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {issuer.token(tenant=TENANT, email='admin@example.com', admin=True)}",
                },
                body=json.dumps(body),
            )
            assert r.status_code == 200, r.body
        faces_stage.manager.drain()

    validate("verified")
    assert "rose2@example.com" in {e.email for e in _registry(TENANT)}
    validate("rejected")
    assert "rose2@example.com" not in {e.email for e in _registry(TENANT)}
    assert "rose1@example.com" in {e.email for e in _registry(TENANT)}

    # a tenant that stops the duplicate check: a record's next decision takes its face out
    from chalicelib.storage.tenants import save_overrides

    save_overrides(TENANT, {"duplicate_check": False})
    validate("verified", "rose1@example.com", "R1")
    assert "rose1@example.com" not in {e.email for e in _registry(TENANT)}
