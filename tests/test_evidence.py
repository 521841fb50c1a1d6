"""Pinned evidence (chalicelib/storage/evidence.py): what the verifier checked is what stays, whatever
happens to the upload afterwards. Over HTTP on a whole stage: real presigned POSTs to the embedded
S3, the app's stream handlers fed by the local pollers, the retention sweeper on a moved clock."""

from __future__ import annotations

import hashlib
import time
import zlib

import pytest

from chalicelib.keys import evidence_key
from tests.erasure_support import api_client, details, hdr, path, post_form, save, upload
from tests.test_bundles import png

TENANT = "acme"


@pytest.fixture
def http(stage, env, issuer):
    with api_client(env, issuer) as client:
        yield client


def bucket(stage) -> str:
    return stage.outputs["DocumentBucketName"]


def read(stage, key: str) -> bytes:
    return stage.s3.get_object(Bucket=bucket(stage), Key=key)["Body"].read()


def audit(email: str) -> list:
    from chalicelib.storage.events import list_audit

    return list_audit(TENANT, email)


def verified(http, issuer, stage, email: str):
    user = issuer.token(email=email)
    front_png, selfie_png = png(seed=21) + email.encode(), png(seed=22) + email.encode()
    front, _ = upload(http, user, "id_front", front_png)
    selfie, form = upload(http, user, "selfie", selfie_png)
    body = details(
        email,
        document_links=[
            {"kind": "id_front", "key": front, "filename": "front.png"},
            {"kind": "selfie", "key": selfie, "filename": "me.png"},
        ],
    )
    r = save(http, user, body)
    assert r.status_code == 201, r.body
    stage.manager.drain()
    record = http.http.get(path(email), headers=hdr(user)).json_body["records"][0]
    return user, body, form, record, {"id_front": front_png, "selfie": selfie_png}


def test_links_are_pinned_content_addressed_and_the_verifier_reads_the_pins(stage, provider, http, issuer):
    email = "pinned@example.com"
    _user, _body, _form, record, images = verified(http, issuer, stage, email)
    assert record["validation_status"] != "pending"
    for link in record["document_links"]:
        data = images[link["kind"]]
        digest = hashlib.sha256(data).hexdigest()
        assert link["sha256"] == digest
        assert link["evidence_key"] == evidence_key(TENANT, email, link["kind"], digest, ".png")
        assert read(stage, link["evidence_key"]) == data  # the very bytes checked
        assert record["checks"]["evidence"][link["kind"]] == {"evidence_key": link["evidence_key"], "sha256": digest}
    pinned = {link["evidence_key"] for link in record["document_links"]}
    assert pinned <= set(provider.read) and not {link["key"] for link in record["document_links"]} & set(provider.read)


def test_posting_the_same_form_again_changes_nothing_verified(stage, provider, http, issuer):
    """The attack of issue 13: after the verification, the same presigned form (valid 900 s) is
    posted again with another person's face. The upload changes; the evidence, the record and
    its decision do not, and nothing is verified again."""
    email = "swap@example.com"
    user, body, form, record, images = verified(http, issuer, stage, email)
    selfie = next(link for link in record["document_links"] if link["kind"] == "selfie")
    trail, calls = audit(email), list(provider.calls)
    stage.notifications()

    impostor = png(seed=99) + b"another person"
    assert post_form(form, impostor) in (200, 204)
    assert read(stage, selfie["key"]) == impostor  # the form was accepted again
    stage.manager.drain()

    again = http.http.get(path(email), headers=hdr(user)).json_body["records"][0]
    assert again == record  # status, decision, checks, links: all as verified
    assert read(stage, selfie["evidence_key"]) == images["selfie"]
    assert hashlib.sha256(read(stage, selfie["evidence_key"])).hexdigest() == selfie["sha256"]
    assert audit(email) == trail and provider.calls == calls and stage.notifications() == []

    # saving the links again is new content now: a new submission, verified against the new bytes
    r = save(http, user, body)
    assert r.status_code == 200 and r.json_body["submission_id"] != record["submission_id"]
    new_selfie = next(link for link in r.json_body["document_links"] if link["kind"] == "selfie")
    assert new_selfie["sha256"] == hashlib.sha256(impostor).hexdigest()
    assert read(stage, selfie["evidence_key"]) == images["selfie"]  # the earlier evidence stands


def test_a_re_save_after_the_uploads_expired_still_works(stage, provider, http, issuer):
    from kyc_service.local.resources import local_parameters
    from kyc_service.local.retention import Sweeper

    email = "expired@example.com"
    user, body, _form, record, _images = verified(http, issuer, stage, email)
    later = time.time() + 2 * 24 * 3600
    Sweeper(stage.endpoint, "local", local_parameters(), clock=lambda: later).sweep()
    for link in record["document_links"]:
        with pytest.raises(stage.s3.exceptions.NoSuchKey):
            read(stage, link["key"])  # the upload expired after a day
        read(stage, link["evidence_key"])  # the pin did not

    same = save(http, user, body)
    assert same.status_code == 200 and same.json_body["submission_id"] == record["submission_id"]
    changed = save(http, user, dict(body, address="8 Moved Street"))
    assert changed.status_code == 200 and changed.json_body["submission_id"] != record["submission_id"]
    assert [link["evidence_key"] for link in changed.json_body["document_links"]] == [
        link["evidence_key"] for link in record["document_links"]
    ]
    stage.manager.drain()
    assert http.http.get(path(email), headers=hdr(user)).json_body["records"][0]["validation_status"] != "pending"

    other = save(http, user, dict(body, id_type="Passport", id_value="P1234-0000"))  # no pin for that record
    assert other.status_code == 400 and other.json_body["error"]["details"][0]["problem"] == "not_uploaded"


def big_png(width: int, height: int, depth: int = 16, colour: int = 2) -> bytes:
    """A PNG whose header declares width x height (the data is a few bytes: it is never decoded)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([depth, colour, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def test_an_image_whose_header_declares_too_much_is_refused_at_save(stage, provider, http, issuer):
    """133 KB of 16-bit PNG declaring 7700 x 7700 pixels: 59 megapixels, 356 MB decoded."""
    email = "bomb@example.com"
    user = issuer.token(email=email)
    front, _ = upload(http, user, "id_front", big_png(7700, 7700))
    selfie, _ = upload(http, user, "selfie", png(seed=3))
    r = save(
        http,
        user,
        details(email, document_links=[{"kind": "id_front", "key": front}, {"kind": "selfie", "key": selfie}]),
    )
    assert r.status_code == 400, r.body
    assert r.json_body["error"]["details"] == [{"field": "document_links[0]", "problem": "image_too_large"}]
    assert http.http.get(path(email), headers=hdr(user)).status_code == 404  # nothing saved
    # within the pixel cap but 16-bit RGBA: refused by its decoded size
    front, _ = upload(http, user, "id_front", big_png(5000, 5000, depth=16, colour=6))
    r = save(
        http,
        user,
        details(email, document_links=[{"kind": "id_front", "key": front}, {"kind": "selfie", "key": selfie}]),
    )
    assert r.status_code == 400 and "bytes decoded" in r.json_body["error"]["message"]


def test_nobody_links_a_pin_directly(stage, provider, http, issuer):
    email = "pin.link@example.com"
    _user, body, _form, record, _images = verified(http, issuer, stage, email)
    admin = issuer.token(email="boss@acme.test", admin=True)
    pin = record["document_links"][0]["evidence_key"]
    r = save(http, admin, dict(body, document_links=[{"kind": "id_front", "key": pin}]))
    assert r.status_code == 400 and r.json_body["error"]["details"][0]["problem"] == "outside_tenant_prefix"
