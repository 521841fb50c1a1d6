"""Bundle zips read safely: sizes, compression ratio, names, links and members are checked while
the zip is read; any problem is a BundleRefused with a stable code (docs/bundles.md)."""
from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

from chalicelib.bundles.images import image_type

MAX_ZIP_BYTES = 20 * 1024 * 1024        # the object itself
MAX_IMAGE_BYTES = 10 * 1024 * 1024      # each image, uncompressed
MAX_CSV_BYTES = 64 * 1024               # the details CSV, uncompressed
MAX_TOTAL_BYTES = 24 * 1024 * 1024      # all members, uncompressed
MAX_RATIO = 100                         # uncompressed / compressed, checked while reading
RATIO_GRACE_BYTES = 64 * 1024           # small members may compress better than that
MAX_ENTRIES = 16                        # central directory entries looked at, at most
CHUNK = 64 * 1024


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


# -- the zip ----------------------------------------------------------------------

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
            content_type = "text/csv" if kind == "details" else image_type(body)
            if content_type is None:
                raise BundleRefused("not_an_image", f"{info.filename} is not a well-formed PNG or JPEG image")
            members[kind] = Member(info.filename, kind, body, content_type)
    return Bundle(tenant, app_uuid, members)
