"""Bundle intake (CONTRACT.md §3): zips dropped into zipped/{tenant}/ of the stage's bucket,
driven by the app's S3 handler on moto server; hostile bundles refused with nothing half-written."""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
import zipfile
import zlib

import pytest

from chalicelib import keys
from chalicelib.bundles import archive, details, intake
from chalicelib.bundles.archive import BundleRefused
from tests.pipeline_support import textract_fields

TENANT = "acme"
ROW = {
    "FIRST_NAME": "Ashish",
    "LAST_NAME": "Palankar",
    "CITY_IN_ADDRESS": "Tallahassee",
    "ZIP_CODE_IN_ADDRESS": "32301-1234",
    "STATE_IN_ADDRESS": "FL",
    "DOCUMENT_NUMBER": "D1234-5678",
    "DATE_OF_BIRTH": "4/20/1990",
    "ADDRESS": "123 Main Street",
}


# -- building bundles ---------------------------------------------------------------


def png(width: int = 4, height: int = 4, seed: int = 0, noise: bool = False) -> bytes:
    """A small, well-formed PNG (no Pillow needed); noise=True makes it incompressible."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    raw = b"".join(
        b"\x00" + (os.urandom(width * 3) if noise else bytes((seed + x + y) % 256 for x in range(width * 3)))
        for y in range(height)
    )
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x08\x02\x00\x00\x00"
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def details_csv(row: dict[str, str], encoding: str = "utf-8", extra_rows: int = 0) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(row))
    for _ in range(1 + extra_rows):
        writer.writerow(list(row.values()))
    return out.getvalue().encode(encoding)


def make_zip(members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def copy_key(app_uuid: str, kind: str, data: bytes, ext: str = "png") -> str:
    """Where the intake keeps the record's copy of an image (named by its content)."""
    import hashlib

    from chalicelib.keys import bundle_documents_prefix

    return f"{bundle_documents_prefix(TENANT, app_uuid)}{hashlib.sha256(data).hexdigest()[:16]}/{kind}.{ext}"


def bundle(
    app_uuid: str,
    row: dict[str, str] | None = None,
    selfie: bytes | None = None,
    licence: bytes | None = None,
    csv_bytes: bytes | None = None,
) -> bytes:
    return make_zip(
        [
            (f"{app_uuid}_details.csv", csv_bytes or details_csv(row or ROW)),
            (f"{app_uuid}_selfie.png", selfie or png(seed=1)),
            (f"{app_uuid}_license.png", licence or png(seed=2)),
        ]
    )


def new_uuid() -> str:
    return str(uuid.uuid4())


# -- the stage -------------------------------------------------------------------------


def drop(stage, app_uuid: str, data: bytes, tenant: str = TENANT, key: str | None = None) -> str:
    key = key or f"zipped/{tenant}/{app_uuid}.zip"
    stage.s3.put_object(Bucket=stage.outputs["DocumentBucketName"], Key=key, Body=data)
    stage.manager.drain()
    return key


def records_for(email: str, tenant: str = TENANT) -> list:
    from chalicelib.services import store

    return store().list_for_email(tenant, email)


def keys_under(stage, prefix: str) -> list[str]:
    got = stage.s3.list_objects_v2(Bucket=stage.outputs["DocumentBucketName"], Prefix=prefix)
    return [o["Key"] for o in got.get("Contents", [])]


def rejection(stage, key: str) -> dict | None:
    try:
        body = stage.s3.get_object(Bucket=stage.outputs["DocumentBucketName"], Key=key[:-4] + ".rejected.json")[
            "Body"
        ].read()
    except stage.s3.exceptions.NoSuchKey:
        return None
    return json.loads(body)


# -- accepted bundles (fake provider) ------------------------------------------------


def test_good_bundle_becomes_a_verified_record_keyed_by_app_uuid(stage, provider, validator):
    validator.reset()
    app_uuid = new_uuid()
    key = drop(stage, app_uuid, bundle(app_uuid))
    assert rejection(stage, key) is None
    [rec] = records_for(app_uuid)
    assert rec.source == "bundle" and rec.app_uuid == app_uuid and rec.email == app_uuid
    assert rec.id_type == "Driving license" and rec.id_value == "D1234-5678"
    assert rec.date_of_birth == "1990-04-20" and rec.zip_code == "32301-1234"
    assert rec.validation_status == "verified", rec.reasons
    checks = rec.checks.as_dict()
    assert checks["face_match"]["passed"] and checks["details_match"]["passed"]
    assert checks["license_validation"]["passed"] is True
    assert sorted(keys_under(stage, f"unzipped/{TENANT}/{app_uuid}/")) == sorted(
        f"unzipped/{TENANT}/{app_uuid}/{app_uuid}_{m}" for m in ("details.csv", "selfie.png", "license.png")
    )
    links = {link["kind"]: link["key"] for link in rec.document_links}
    assert links == {
        "id_front": copy_key(app_uuid, "id_front", png(seed=2)),
        "selfie": copy_key(app_uuid, "selfie", png(seed=1)),
    }
    assert [r["body"]["driver_license_id"] for r in validator.requests] == ["D1234-5678"]

    # the same bundle again (a redelivered event or a second upload): nothing changes
    version = rec.version
    drop(stage, app_uuid, bundle(app_uuid))
    [again] = records_for(app_uuid)
    assert again.version == version and again.validation_status == "verified"

    # the same details with a new selfie: a new submission, verified again against the new image
    drop(stage, app_uuid, bundle(app_uuid, selfie=png(seed=5)))
    [changed] = records_for(app_uuid)
    assert changed.submission_id != again.submission_id
    assert {link["kind"]: link["key"] for link in changed.document_links}["selfie"] == copy_key(
        app_uuid, "selfie", png(seed=5)
    )
    assert changed.validation_status == "verified" and changed.version > version


def test_email_column_keys_the_record_by_email(stage, provider, validator):
    validator.reset()
    app_uuid = new_uuid()
    drop(
        stage,
        app_uuid,
        bundle(
            app_uuid,
            {
                **ROW,
                "EMAIL": "Bank.Customer@Example.com",
                "DATE_OF_BIRTH": "04/20/1990",
                "ZIP_CODE_IN_ADDRESS": "32301",
            },
        ),
    )
    [rec] = records_for("bank.customer@example.com")
    assert rec.app_uuid == app_uuid and rec.validation_status == "verified"
    assert records_for(app_uuid) == []


def test_jpeg_selfie_accepted_by_its_bytes(stage, provider, validator):
    validator.reset()
    app_uuid = new_uuid()
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buf, "JPEG")
    drop(stage, app_uuid, bundle(app_uuid, selfie=buf.getvalue()))
    [rec] = records_for(app_uuid)
    assert {link["kind"]: link["key"] for link in rec.document_links}["selfie"].endswith("/selfie.jpg")


def test_details_mismatch_and_face_mismatch_rejected_fake_provider(stage, provider, validator):
    validator.reset()
    a, b = new_uuid(), new_uuid()
    provider.documents[copy_key(a, "id_front", png(seed=2))] = textract_fields(dob="01/12/1957")
    from chalicelib.providers.port import FaceComparison

    provider.faces[copy_key(b, "selfie", png(seed=1))] = FaceComparison(20.0, 1, 1)
    drop(stage, a, bundle(a))
    drop(stage, b, bundle(b))
    [ra], [rb] = records_for(a), records_for(b)
    assert ra.validation_status == "rejected" and ra.checks.as_dict()["details_match"]["passed"] is False
    assert rb.validation_status == "rejected" and rb.checks.as_dict()["face_match"]["passed"] is False


# -- refused bundles -----------------------------------------------------------------


def _symlink(app_uuid):
    info = zipfile.ZipInfo(f"{app_uuid}_selfie.png")
    info.external_attr = 0o120777 << 16
    return info


def _encrypted(app_uuid):
    """A bundle whose selfie says it is encrypted (flag bit 0, local and central headers)."""
    data = bytearray(bundle(app_uuid))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(f"{app_uuid}_selfie.png")
        start = zf.start_dir
    data[info.header_offset + 6] |= 0x1
    pos = start
    while data[pos : pos + 4] == b"PK\x01\x02":
        n, m, k = (int.from_bytes(data[pos + o : pos + o + 2], "little") for o in (28, 30, 32))
        if data[pos + 46 : pos + 46 + n].decode() == info.filename:
            data[pos + 8] |= 0x1
        pos += 46 + n + m + k
    return bytes(data)


def _members(u, selfie=None, csv_bytes=None, licence=None, extra=()):
    return [
        (f"{u}_details.csv", csv_bytes or details_csv(ROW)),
        (f"{u}_selfie.png", selfie or png(seed=1)),
        (f"{u}_license.png", licence or png(seed=2)),
    ] + list(extra)


UNSAFE = {
    "not_a_zip": lambda u: b"PK\x03\x04 this is not really a zip",
    "path_traversal": lambda u: make_zip(_members(u, extra=[(f"../{u}_x.png", png())])),
    "absolute_path": lambda u: make_zip(_members(u, extra=[("/etc/cron.d/x", b"x")])),
    "link": lambda u: make_zip(_members(u)[:1] + [(_symlink(u), b"/etc/passwd")] + _members(u)[2:]),
    "directory": lambda u: make_zip(_members(u, extra=[("sub/", b"")])),
    "nested_path": lambda u: make_zip(_members(u, extra=[(f"sub/{u}_selfie.png", png())])),
    "duplicate_member": lambda u: make_zip(_members(u, extra=[(f"{u}_selfie.png", png())])),
    "missing_member": lambda u: make_zip(_members(u)[:2]),
    "extra_members": lambda u: make_zip(_members(u, extra=[("notes.txt", b"hello")])),
    "encrypted": _encrypted,
    "extra_members_many": lambda u: make_zip(_members(u, extra=[(f"f{i}.txt", b"") for i in range(40)])),
    "compression_ratio": lambda u: make_zip(_members(u, selfie=png() + b"\x00" * (5 * 1024 * 1024))),
    "not_an_image": lambda u: make_zip(_members(u, selfie=b"#!/bin/sh\necho not a picture\n")),
    "not_an_image_truncated": lambda u: make_zip(_members(u, licence=png(32, 32)[:-20])),
    "csv_encoding": lambda u: make_zip(
        _members(u, csv_bytes=details_csv({**ROW, "FIRST_NAME": "Jos\u00e9"}, encoding="latin-1"))
    ),
    "csv_columns": lambda u: make_zip(
        _members(u, csv_bytes=details_csv({k: v for k, v in ROW.items() if k != "DOCUMENT_NUMBER"}))
    ),
    "csv_rows": lambda u: make_zip(_members(u, csv_bytes=details_csv(ROW, extra_rows=1))),
    "bad_date": lambda u: make_zip(_members(u, csv_bytes=details_csv({**ROW, "DATE_OF_BIRTH": "13/40/1990"}))),
    "invalid_details": lambda u: make_zip(_members(u, csv_bytes=details_csv({**ROW, "DOCUMENT_NUMBER": "D#1"}))),
}


@pytest.mark.parametrize("kind", sorted(UNSAFE))
def test_unsafe_bundle_is_refused_with_nothing_half_written(stage, provider, validator, kind):
    app_uuid = new_uuid()
    key = drop(stage, app_uuid, UNSAFE[kind](app_uuid))
    report = rejection(stage, key)
    expected = kind.replace("_truncated", "").replace("_many", "")
    assert report is not None and report["code"] == expected, report
    assert report["status"] == "refused" and report["reason"] and report["app_uuid"] == app_uuid
    assert "Palankar" not in json.dumps(report) and "D1234" not in json.dumps(report)
    assert records_for(app_uuid) == []
    assert keys_under(stage, f"unzipped/{TENANT}/{app_uuid}") == []
    assert keys_under(stage, f"tenants/{TENANT}/bundles/{app_uuid}") == []


@pytest.mark.parametrize(
    "cap,code",
    [
        ("MAX_ZIP_BYTES", "zip_too_large"),
        ("MAX_IMAGE_BYTES", "member_too_large"),
        ("MAX_TOTAL_BYTES", "bundle_too_large"),
    ],
)
def test_size_caps(stage, provider, validator, monkeypatch, cap, code):
    monkeypatch.setattr(archive, cap, 600 if cap != "MAX_TOTAL_BYTES" else 700)
    app_uuid = new_uuid()
    key = drop(stage, app_uuid, bundle(app_uuid, selfie=png(16, 16, noise=True), licence=png(16, 16, noise=True)))
    assert rejection(stage, key)["code"] == code
    assert records_for(app_uuid) == [] and keys_under(stage, f"unzipped/{TENANT}/{app_uuid}") == []


def test_bad_key_refused_next_to_the_bundle_and_rejection_objects_ignored(stage, provider, validator):
    key = drop(stage, "x", bundle("x"), key="zipped/Not_A_Tenant/x.zip")
    assert rejection(stage, key)["code"] == "bad_key"
    before = stage.manager.poller("intake_bundle").invocations
    stage.s3.put_object(Bucket=stage.outputs["DocumentBucketName"], Key="zipped/acme/y.rejected.json", Body=b"{}")
    stage.manager.drain()
    assert stage.manager.poller("intake_bundle").invocations == before


def test_refusal_is_cleared_when_a_good_bundle_replaces_it(stage, provider, validator):
    validator.reset()
    app_uuid = new_uuid()
    key = drop(stage, app_uuid, UNSAFE["csv_rows"](app_uuid))
    assert rejection(stage, key)["code"] == "csv_rows"
    drop(stage, app_uuid, bundle(app_uuid))
    assert rejection(stage, key) is None and records_for(app_uuid)


# -- pure parts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,iso",
    [
        ("01/12/1957", "1957-01-12"),
        ("1/12/1957", "1957-01-12"),
        ("12/1/1957", "1957-12-01"),
        ("1957-01-12", "1957-01-12"),
    ],
)
def test_us_dates(value, iso):
    assert details.us_date(value) == iso


@pytest.mark.parametrize("value", ["13/01/1957", "1957/01/12", "01-12-1957", "", "2/30/1990"])
def test_bad_dates(value):
    with pytest.raises(BundleRefused):
        details.us_date(value)


def test_zip_codes_and_bom_and_bundle_keys():
    assert details.zip_code("323011234") == "32301-1234" and details.zip_code("32301") == "32301"
    row = details.parse_details(b"\xef\xbb\xbf" + details_csv(ROW))
    assert row["FIRST_NAME"] == "Ashish"
    assert keys.is_bundle_key(str(uuid.uuid4())) and not keys.is_bundle_key("a@b.com")
    assert keys.bundle_email("ABC-def") == "abc-def" and keys.bundle_email("x@y.org") is None
    with pytest.raises(BundleRefused):
        intake.parse_key("zipped/acme/a/b.zip")


# -- bundles from real faces and generated licences (self-hosted engines) ---------------


def _engine_bundle(app_uuid: str, selfie_file: str, portrait_file: str, dob_in_csv: str | None = None) -> bytes:
    from PIL import Image

    from kyc_service.testdata.docgen import make_licence
    from tests.conftest import fixtures_dir

    faces = fixtures_dir("faces")
    details = {
        "first_name": "MARIA",
        "middle_name": "",
        "last_name": "GARCIA",
        "date_of_birth": "1957-01-12",
        "date_of_issue": "2023-01-12",
        "expiration_date": "2031-01-12",
        "document_number": "G123-456-57-012-0",
        "address": "1200 OAK AVE",
        "city": "AUSTIN",
        "state": "TX",
        "zip_code": "78701-1234",
        "sex": "F",
        "height": "5-06",
        "eyes": "BRO",
        "class": "C",
        "restrictions": "NONE",
        "endorsements": "NONE",
        "dd": "ABCDEF123456",
    }
    front, _back = make_licence(details, portrait=(faces / portrait_file).read_bytes(), layout=0)
    buf = io.BytesIO()
    Image.open(faces / selfie_file).convert("RGB").save(buf, "PNG")
    row = {
        "FIRST_NAME": "Maria",
        "LAST_NAME": "Garcia",
        "CITY_IN_ADDRESS": "Austin",
        "ZIP_CODE_IN_ADDRESS": "78701-1234",
        "STATE_IN_ADDRESS": "TX",
        "DOCUMENT_NUMBER": "G123-456-57-012-0",
        "DATE_OF_BIRTH": dob_in_csv or "1/12/1957",
        "ADDRESS": "1200 Oak Ave",
    }
    return bundle(app_uuid, row, selfie=buf.getvalue(), licence=front)


@pytest.fixture
def engines(monkeypatch):
    from kyc_service.engines.adapter import SelfHostedProvider  # the engines are part of the project

    monkeypatch.setattr("chalicelib.services.provider", SelfHostedProvider.shared)


@pytest.mark.parametrize(
    "case,selfie,dob,status,failed",
    [
        ("good", "obama_2.jpg", None, "verified", None),
        ("details", "obama_2.jpg", "01/21/1957", "rejected", "details_match"),
        ("face", "biden_1.jpg", None, "rejected", "face_match"),
    ],
)
def test_engine_bundles(stage, engines, validator, case, selfie, dob, status, failed):
    validator.reset()
    app_uuid = new_uuid()
    key = drop(stage, app_uuid, _engine_bundle(app_uuid, selfie, "obama_1.jpg", dob))
    assert rejection(stage, key) is None
    [rec] = records_for(app_uuid)
    checks = rec.checks.as_dict()
    assert rec.validation_status == status, (rec.reasons, checks)
    assert set(checks) >= {"face_match", "details_match", "license_validation"}
    assert checks["license_validation"]["passed"] is True
    if failed:
        assert checks[failed]["passed"] is False and rec.reasons
        other = {"face_match", "details_match"} - {failed}
        assert all(checks[o]["passed"] for o in other), checks
    else:
        assert checks["face_match"]["passed"] and checks["details_match"]["passed"]


# -- submit-bundle -------------------------------------------------------------------


def test_submit_bundle_follows_to_the_decision_and_reports_refusals(stage, provider, validator, tmp_path):
    from rich.console import Console

    from kyc_service.cli import build_parser
    from kyc_service.commands import submit_bundle

    validator.reset()
    assert build_parser().parse_args(["submit-bundle", "x.zip", "--tenant", "acme"]).func is submit_bundle.command
    good, bad = new_uuid(), new_uuid()
    (tmp_path / f"{good}.zip").write_bytes(bundle(good))
    (tmp_path / f"{bad}.zip").write_bytes(UNSAFE["csv_rows"](bad))
    out = io.StringIO()
    console = Console(file=out, width=120)
    code, result = submit_bundle.follow(
        tmp_path / f"{good}.zip", TENANT, stage.endpoint, timeout=30, on_wait=stage.manager.drain, console=console
    )
    assert code == 0 and result["record"]["validation_status"] == "verified"
    assert "verified" in out.getvalue() and "license_validation" in out.getvalue()
    code, result = submit_bundle.follow(
        tmp_path / f"{bad}.zip", TENANT, stage.endpoint, timeout=30, on_wait=stage.manager.drain, console=console
    )
    assert code == 2 and result["code"] == "csv_rows" and "exactly one data row" in out.getvalue()
    (tmp_path / "not a uuid.zip").write_bytes(b"x")
    assert submit_bundle.follow(tmp_path / "not a uuid.zip", TENANT, stage.endpoint, console=console)[0] == 1


def test_failed_reintake_keeps_the_accepted_records_documents(stage, provider, validator, monkeypatch):
    """A re-upload whose save fails (a conflict, throttling) removes only what it created:
    the documents the accepted record links stay."""
    from chalicelib.aws import client
    from chalicelib.config import settings
    from chalicelib.errors import Conflict
    from chalicelib.services import store
    from chalicelib.storage import records

    validator.reset()
    app_uuid = new_uuid()
    drop(stage, app_uuid, bundle(app_uuid))
    [rec] = records_for(app_uuid)
    linked = sorted(link["key"] for link in rec.document_links)

    def conflict(self, *args, **kwargs):
        raise Conflict("the record was changed by another request; retry")

    real_save = records.RecordStore.save
    monkeypatch.setattr(records.RecordStore, "save", conflict)
    bucket = stage.outputs["DocumentBucketName"]
    key = f"zipped/{TENANT}/{app_uuid}.zip"
    stage.s3.put_object(
        Bucket=bucket, Key=key, Body=bundle(app_uuid, row={**ROW, "ADDRESS": "9 Other St"}, selfie=png(seed=9))
    )
    with pytest.raises(Conflict):
        intake.Intake(client("s3"), store(), settings(), bucket).run(key)
    from chalicelib.keys import bundle_documents_prefix

    assert sorted(keys_under(stage, bundle_documents_prefix(TENANT, app_uuid))) == linked
    [still] = records_for(app_uuid)
    assert still.validation_status == "verified" and sorted(link["key"] for link in still.document_links) == linked
    # The upload's own S3 notification is taken in here, not by the next module's stage (moto's
    # state is one per process: a queued event would otherwise start a licence check there).
    monkeypatch.setattr(records.RecordStore, "save", real_save)
    stage.manager.drain()


def test_a_bundle_for_a_customer_under_a_final_rejection_is_refused(stage, provider, validator):
    """An admin's final rejection stands against the bank's resubmission too (issue 14)."""
    from chalicelib.domain.submission import ManualDecision
    from chalicelib.services import store

    validator.reset()
    app_uuid = new_uuid()
    drop(stage, app_uuid, bundle(app_uuid))
    [rec] = records_for(app_uuid)
    store().decide_manually(TENANT, app_uuid, ManualDecision(rec.id_type, rec.id_value, "rejected", "fraud"), "boss")
    key = drop(stage, app_uuid, bundle(app_uuid, selfie=png(seed=9)))
    assert rejection(stage, key)["code"] == "decision_final"
    [after] = records_for(app_uuid)
    assert after.validation_status == "rejected" and after.decision_final is True
    assert after.submission_id == rec.submission_id
