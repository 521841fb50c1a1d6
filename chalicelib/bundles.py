"""Bundle intake (CONTRACT.md §3): `zipped/{tenant}/{app_uuid}.zip` in the document bucket
becomes a KYC record of that tenant, through the same validation and record store as the API.

A bundle is refused with a reason when anything about it is unsafe or wrong; a refused
bundle leaves no record and nothing under `unzipped/`: its reason goes to
`zipped/{tenant}/{app_uuid}.rejected.json` and to a log line without personal data.
The zip is checked while it is read (sizes, compression ratio, names, links, members),
the images by their bytes, the CSV by its encoding and shape. docs/bundles.md has the rules.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import stat
import time
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.logs import logger, ref

ZIPPED, UNZIPPED = "zipped/", "unzipped/"
MAX_ZIP_BYTES = 20 * 1024 * 1024        # the object itself
MAX_IMAGE_BYTES = 10 * 1024 * 1024      # each image, uncompressed
MAX_CSV_BYTES = 64 * 1024               # the details CSV, uncompressed
MAX_TOTAL_BYTES = 24 * 1024 * 1024      # all members, uncompressed
MAX_RATIO = 100                         # uncompressed / compressed, checked while reading
RATIO_GRACE_BYTES = 64 * 1024           # small members may compress better than that
MAX_ENTRIES = 16                        # central directory entries looked at, at most
MAX_PIXELS = 50_000_000                 # declared image size (decompression bombs later on)
CHUNK = 64 * 1024

APP_UUID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
COLUMNS = {  # CSV column -> submission field
    "FIRST_NAME": "first_name", "LAST_NAME": "last_name", "CITY_IN_ADDRESS": "city",
    "ZIP_CODE_IN_ADDRESS": "zip_code", "STATE_IN_ADDRESS": "state",
    "DOCUMENT_NUMBER": "id_value", "DATE_OF_BIRTH": "date_of_birth", "ADDRESS": "address",
}
OPTIONAL_COLUMNS = {"EMAIL": "email", "MIDDLE_NAME": "middle_name", "PHONE_NUMBER": "phone_number"}
OVERRIDE_COLUMN = "VALIDATION_OVERRIDE"
ID_TYPE = "Driving license"
PLACEHOLDER_EMAIL = "bundle@example.com"  # validated in place of a missing EMAIL, then replaced


class BundleRefused(Exception):
    """A bundle that is not accepted: `code` is stable, `message` is for operators."""

    def __init__(self, code: str, message: str, details: list[Any] | None = None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or []


@dataclass(frozen=True)
class Member:
    name: str   # the member's name in the zip
    kind: str   # "details", "selfie", "license"
    data: bytes
    content_type: str


@dataclass(frozen=True)
class Bundle:
    tenant: str
    app_uuid: str
    members: dict[str, Member]  # by kind

    def prefix(self) -> str:
        return f"{UNZIPPED}{self.tenant}/{self.app_uuid}/"

    def document_prefix(self) -> str:
        return f"tenants/{self.tenant}/bundles/{self.app_uuid}/"


# -- keys ------------------------------------------------------------------------

def is_bundle_key(value: str) -> bool:
    """True for the e-mail part of a bundle record without EMAIL (an app_uuid): no '@'."""
    return isinstance(value, str) and bool(APP_UUID_RE.match(value))


def bundle_email(value: str) -> str | None:
    """The record e-mail part for a path segment that is an app_uuid (lower case), else None.

    The API's GET and validate routes use it before normalise_email:
    `email = bundle_email(raw) or normalise_email(raw)`."""
    return value.lower() if is_bundle_key(value) else None


def parse_key(key: str) -> tuple[str, str]:
    """(tenant, app_uuid) of `zipped/{tenant}/{app_uuid}.zip`, or BundleRefused."""
    from chalicelib.http.validation import check_tenant

    parts = key.split("/") if key.startswith(ZIPPED) and key.endswith(".zip") else []
    if len(parts) != 3:
        raise BundleRefused("bad_key", "the object key is not zipped/{tenant}/{app_uuid}.zip")
    tenant, app_uuid = parts[1], parts[2][:-len(".zip")]
    try:
        check_tenant(tenant)
    except InvalidInput as exc:
        raise BundleRefused("bad_key", exc.message) from None
    if not is_bundle_key(app_uuid):
        raise BundleRefused("bad_key", "app_uuid must be 1-64 letters, digits, '-' or '_'")
    return tenant, app_uuid


def rejection_key(key: str) -> str | None:
    """`zipped/.../{name}.rejected.json` next to a bundle (None for a key outside zipped/)."""
    if not key.startswith(ZIPPED) or not key.endswith(".zip") or ".." in key.split("/"):
        return None
    return key[:-len(".zip")] + ".rejected.json"


# -- the zip ---------------------------------------------------------------------

def expected_members(app_uuid: str) -> dict[str, str]:
    return {f"{app_uuid}_details.csv": "details", f"{app_uuid}_selfie.png": "selfie",
            f"{app_uuid}_license.png": "license"}


def _check_name(info: zipfile.ZipInfo) -> None:
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise BundleRefused("link", "the bundle contains a symbolic link")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise BundleRefused("absolute_path", "the bundle contains an absolute path")
    if ".." in re.split(r"[/\\]", name):
        raise BundleRefused("path_traversal", "the bundle contains a path with '..'")
    if info.is_dir() or stat.S_ISDIR(mode):
        raise BundleRefused("directory", "the bundle contains a directory")
    if "/" in name or "\\" in name:
        raise BundleRefused("nested_path", "bundle members must be at the top level")
    if info.flag_bits & 0x1:
        raise BundleRefused("encrypted", "the bundle contains an encrypted member")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise BundleRefused("compression", "bundle members must be stored or deflated")


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, budget: int) -> bytes:
    """Stream one member with running checks: its cap, the bundle's budget, the ratio."""
    out = bytearray()
    compressed = max(info.compress_size, 1)
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            out += chunk
            if len(out) > cap:
                raise BundleRefused("member_too_large", f"{info.filename} is larger than {cap} bytes")
            if len(out) > budget:
                raise BundleRefused("bundle_too_large",
                                    f"the bundle's members together exceed {MAX_TOTAL_BYTES} bytes")
            if len(out) > RATIO_GRACE_BYTES and len(out) / compressed > MAX_RATIO:
                raise BundleRefused("compression_ratio",
                                    f"{info.filename} expands more than {MAX_RATIO} times (zip bomb)")
    return bytes(out)


def _declared_entries(data: bytes) -> int | None:
    """Entry count from the end-of-central-directory record, read before zipfile parses the
    directory (a directory of a million entries would cost memory first)."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if at < 0 or at + 22 > len(data):
        return None
    return int.from_bytes(data[at + 10:at + 12], "little")


def read_zip(data: bytes, tenant: str, app_uuid: str) -> Bundle:
    if len(data) > MAX_ZIP_BYTES:
        raise BundleRefused("zip_too_large", f"the bundle is larger than {MAX_ZIP_BYTES} bytes")
    declared = _declared_entries(data)
    if declared is None:
        raise BundleRefused("not_a_zip", "the object is not a readable zip file")
    if declared > MAX_ENTRIES:  # 0xFFFF (zip64) included: a bundle never needs it
        raise BundleRefused("extra_members", f"the bundle has {declared} entries; 3 are expected")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise BundleRefused("not_a_zip", "the object is not a readable zip file") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_ENTRIES:
            raise BundleRefused("extra_members", f"the bundle has {len(infos)} entries; 3 are expected")
        for info in infos:
            _check_name(info)
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise BundleRefused("duplicate_member", "the bundle contains a member name twice")
        expected = expected_members(app_uuid)
        missing = sorted(set(expected) - set(names))
        extra = sorted(set(names) - set(expected))
        if missing:
            raise BundleRefused("missing_member", "missing: " + ", ".join(missing))
        if extra:
            raise BundleRefused("extra_members", f"{len(extra)} unexpected member(s)",
                                [{"member": n[:100]} for n in extra])
        members: dict[str, Member] = {}
        budget = MAX_TOTAL_BYTES
        for info in sorted(infos, key=lambda i: i.filename):
            kind = expected[info.filename]
            cap = MAX_CSV_BYTES if kind == "details" else MAX_IMAGE_BYTES
            if info.file_size > cap:  # what the directory declares; the read checks the truth
                raise BundleRefused("member_too_large", f"{info.filename} is larger than {cap} bytes")
            try:
                body = _read_member(zf, info, cap, budget)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                    RuntimeError, ValueError):
                raise BundleRefused("corrupt_member", f"{info.filename} cannot be read (corrupt zip)") from None
            budget -= len(body)
            content_type = "text/csv" if kind == "details" else image_type(body, info.filename)
            members[kind] = Member(info.filename, kind, body, content_type)
    return Bundle(tenant, app_uuid, members)


# -- images, by their bytes (no Pillow in Lambda) ---------------------------------

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _png_ok(data: bytes) -> bool:
    pos, first, seen_idat = 8, True, False
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        ctype = data[pos + 4:pos + 8]
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data) or not ctype.isalpha():
            return False
        body = data[pos + 8:pos + 8 + length]
        if zlib.crc32(ctype + body) != int.from_bytes(data[end - 4:end], "big"):
            return False
        if first:
            if ctype != b"IHDR" or length != 13:
                return False
            width, height = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big")
            if not (0 < width and 0 < height and width * height <= MAX_PIXELS):
                return False
            first = False
        seen_idat |= ctype == b"IDAT"
        if ctype == b"IEND":
            return seen_idat
        pos = end
    return False


def _jpeg_ok(data: bytes) -> bool:
    pos, size_ok = 2, False
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01,) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if length < 2 or pos + 2 + length > len(data):
            return False
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if length < 8:
                return False
            height = int.from_bytes(data[pos + 5:pos + 7], "big")
            width = int.from_bytes(data[pos + 7:pos + 9], "big")
            size_ok = 0 < width and 0 < height and width * height <= MAX_PIXELS
        if marker == 0xDA:  # start of scan: entropy-coded data follows up to EOI
            return size_ok and data.rstrip(b"\x00").endswith(b"\xff\xd9")
        pos += 2 + length
    return False


def image_type(data: bytes, name: str) -> str:
    """'image/png' or 'image/jpeg' when the bytes are a well-formed image, else BundleRefused."""
    if data.startswith(PNG_SIG) and _png_ok(data):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff") and _jpeg_ok(data):
        return "image/jpeg"
    raise BundleRefused("not_an_image", f"{name} is not a well-formed PNG or JPEG image")


# -- the details CSV ---------------------------------------------------------------

def us_date(value: str) -> str:
    """'01/12/1957' or '1/12/1957' (month first) or '1957-01-12' -> '1957-01-12'."""
    value = value.strip()
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value)
    try:
        if m:
            return dt.date(int(m[3]), int(m[1]), int(m[2])).isoformat()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise BundleRefused("bad_date", "DATE_OF_BIRTH must be a real date as MM/DD/YYYY")


def zip_code(value: str) -> str:
    value = value.strip()
    return f"{value[:5]}-{value[5:]}" if re.fullmatch(r"\d{9}", value) else value


def parse_details(data: bytes) -> dict[str, str]:
    """The one data row of the CSV as {COLUMN: value} (header names upper-cased)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BundleRefused("csv_encoding", "the details CSV is not UTF-8") from None
    if "\x00" in text:
        raise BundleRefused("csv_format", "the details CSV contains NUL characters")
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)]
    except csv.Error:
        raise BundleRefused("csv_format", "the details CSV cannot be parsed") from None
    if not rows:
        raise BundleRefused("csv_format", "the details CSV is empty")
    header = [h.strip().upper() for h in rows[0]]
    if len(set(header)) != len(header):
        raise BundleRefused("csv_columns", "the details CSV repeats a column")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise BundleRefused("csv_columns", "the details CSV lacks columns: " + ", ".join(missing))
    if len(rows) != 2:
        raise BundleRefused("csv_rows", f"the details CSV must have exactly one data row, not {len(rows) - 1}")
    if len(rows[1]) != len(header):
        raise BundleRefused("csv_format", "the data row does not have as many values as the header")
    return dict(zip(header, (v.strip() for v in rows[1])))


def override_of(row: dict[str, str]) -> bool | None:
    value = row.get(OVERRIDE_COLUMN, "").strip().lower()
    return {"true": True, "valid": True, "1": True, "yes": True,
            "false": False, "invalid": False, "0": False, "no": False}.get(value)


def submission_body(row: dict[str, str], bundle: Bundle, links: list[dict[str, str]]) -> dict[str, Any]:
    body: dict[str, Any] = {field: row[col] for col, field in COLUMNS.items()}
    for col, field in OPTIONAL_COLUMNS.items():
        if row.get(col):
            body[field] = row[col]
    body.setdefault("email", PLACEHOLDER_EMAIL)
    body["date_of_birth"] = us_date(row["DATE_OF_BIRTH"])
    body["zip_code"] = zip_code(row["ZIP_CODE_IN_ADDRESS"]) or None
    body["id_type"] = ID_TYPE
    body["document_links"] = links
    return {k: v for k, v in body.items() if v not in ("", None)}


def to_submission(bundle: Bundle, settings) -> tuple[Any, bool | None]:
    """The validated Submission (same parse_submission as the API) and the licence override."""
    from chalicelib.http.validation import Submission, parse_submission

    row = parse_details(bundle.members["details"].data)
    links = [{"kind": kind, "key": document_key(bundle, kind), "filename": bundle.members[m].name}
             for kind, m in (("id_front", "license"), ("selfie", "selfie"))]
    try:
        sub = parse_submission(submission_body(row, bundle, links), settings.stage, bundle.tenant, settings)
    except InvalidInput as exc:  # messages name fields, never values
        raise BundleRefused("invalid_details", exc.message, exc.details) from None
    if not row.get("EMAIL"):
        sub = Submission(details={**sub.details, "email": bundle.app_uuid.lower()},
                         document_links=sub.document_links)
    return sub, override_of(row)


def document_key(bundle: Bundle, kind: str) -> str:
    """The record's copy of an image, named by its content: new images make new keys (so a
    changed bundle is a new submission, verified again); a redelivered bundle maps onto the
    same keys (no change)."""
    ext = {"image/png": ".png", "image/jpeg": ".jpg"}
    member = bundle.members["license" if kind == "id_front" else "selfie"]
    digest = hashlib.sha256(member.data).hexdigest()[:16]
    return f"{bundle.document_prefix()}{digest}/{kind}{ext[member.content_type]}"


# -- the intake ----------------------------------------------------------------------

class Intake:
    """Reads a bundle from the bucket and turns it into a record, or refuses it."""

    def __init__(self, s3, store, settings, bucket: str):
        self.s3, self.store, self.settings, self.bucket = s3, store, settings, bucket

    def _download(self, key: str) -> bytes:
        obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        if int(obj.get("ContentLength") or 0) > MAX_ZIP_BYTES:
            obj["Body"].close()
            raise BundleRefused("zip_too_large", f"the bundle is larger than {MAX_ZIP_BYTES} bytes")
        data = obj["Body"].read(MAX_ZIP_BYTES + 1)
        obj["Body"].close()
        return data

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def _exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except self.s3.exceptions.ClientError:
            return False

    def _store(self, bundle: Bundle) -> list[str]:
        """Write the members and the record's copies; return the keys this run created
        (objects that already existed, e.g. linked by an accepted earlier intake, are not ours)."""
        writes = [(bundle.prefix() + m.name, m) for m in bundle.members.values()]
        writes += [(document_key(bundle, kind), bundle.members["license" if kind == "id_front" else "selfie"])
                   for kind in ("id_front", "selfie")]
        created = []
        for key, m in writes:
            if not self._exists(key):
                created.append(key)
            self._put(key, m.data, m.content_type)
        return created

    def _remove(self, keys: list[str]) -> None:
        if keys:
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys],
                                                               "Quiet": True})

    def refuse(self, tenant: str, app_uuid: str, key: str, exc: BundleRefused) -> dict[str, Any]:
        report = {"status": "refused", "tenant": tenant, "app_uuid": app_uuid, "bundle": key,
                  "code": exc.code, "reason": exc.message, "details": exc.details,
                  "refused_at": int(time.time())}
        target = rejection_key(key)
        if target:
            self._put(target, json.dumps(report).encode(), "application/json")
        logger().warning("bundle refused", extra={"bundle": ref(key), "tenant": tenant, "code": exc.code})
        return report

    def run(self, key: str) -> dict[str, Any]:
        tenant = app_uuid = ""
        created: list[str] = []
        try:
            tenant, app_uuid = parse_key(key)
            bundle = read_zip(self._download(key), tenant, app_uuid)
            submission, override = to_submission(bundle, self.settings)
            created = self._store(bundle)
            from chalicelib.handlers import licence
            licence.remember_override(tenant, app_uuid, override)
            record, created, changed = self.store.save(tenant, submission, source="bundle", app_uuid=app_uuid)
        except (BundleRefused, InvalidInput) as exc:
            self._remove(created)
            if isinstance(exc, InvalidInput):
                exc = BundleRefused("invalid_details", exc.message, exc.details)
            return self.refuse(tenant, app_uuid, key, exc)
        except Exception:
            self._remove(created)  # nothing half-written: the retry stores them again
            raise
        self.s3.delete_object(Bucket=self.bucket, Key=rejection_key(key))
        logger().info("bundle accepted", extra={"bundle": ref(key), "tenant": tenant,
                                                "record": ref(record.pk, record.sk),
                                                "new_record": created, "changed": changed})
        return {"status": "accepted", "tenant": tenant, "app_uuid": app_uuid, "created": created,
                "changed": changed}


def handle_event(event) -> dict[str, Any]:
    """The S3 handler's work: one object-created event (Chalice S3Event or bucket/key)."""
    from chalicelib.aws import client
    from chalicelib.config import settings
    from chalicelib.http.api import store

    key = event.key
    if not key.endswith(".zip"):
        return {"status": "ignored"}
    return Intake(client("s3"), store(), settings(), event.bucket).run(key)
