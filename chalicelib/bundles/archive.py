"""Bundle zips read safely: sizes, compression ratio, names, links and members are checked while
the zip is read; any problem is a BundleRefused with a stable code (docs/bundles.md).

Before `zipfile` parses anything, the central directory is measured by hand: the end record's
entry count and directory size, then a walk over the directory's headers that stops at
MAX_ENTRIES. `zipfile` builds a ZipInfo for every entry the directory holds, whatever the end
record declares (380,000 entries cost it about 150 MB); here the walk costs nothing but a few
integers, so such a zip is refused at once."""

from __future__ import annotations

import io
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

from chalicelib.bundles.images import image_info

MAX_ZIP_BYTES = 20 * 1024 * 1024  # the object itself
MAX_IMAGE_BYTES = 10 * 1024 * 1024  # each image, uncompressed
MAX_CSV_BYTES = 64 * 1024  # the details CSV, uncompressed
MAX_TOTAL_BYTES = 24 * 1024 * 1024  # all members, uncompressed
MAX_RATIO = 100  # uncompressed / compressed, checked while reading
RATIO_GRACE_BYTES = 64 * 1024  # small members may compress better than that
MAX_ENTRIES = 16  # central directory entries looked at, at most
MAX_ENTRY_EXTRA = 1024  # name + extra field + comment of one directory entry
CHUNK = 64 * 1024

EOCD = struct.Struct("<4s4H2LH")  # end of central directory record (22 bytes)
CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # central directory file header (46 bytes)
EOCD_SIG, CENTRAL_SIG, ZIP64_LOCATOR_SIG = b"PK\x05\x06", b"PK\x01\x02", b"PK\x06\x07"
MAX_DIRECTORY_BYTES = MAX_ENTRIES * (CENTRAL.size + MAX_ENTRY_EXTRA)


class BundleRefused(Exception):
    """A bundle that is not accepted: `code` is stable, `message` is for operators."""

    def __init__(self, code: str, message: str, details: list[Any] | None = None):
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or []


@dataclass(frozen=True)
class Member:
    name: str  # the member's name in the zip
    kind: str  # "details", "selfie", "license"
    data: bytes
    content_type: str


@dataclass(frozen=True)
class Bundle:
    tenant: str
    app_uuid: str
    members: dict[str, Member]  # by kind


# -- the zip ----------------------------------------------------------------------


def expected_members(app_uuid: str) -> dict[str, str]:
    return {
        f"{app_uuid}_details.csv": "details",
        f"{app_uuid}_selfie.png": "selfie",
        f"{app_uuid}_license.png": "license",
    }


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
                raise BundleRefused("bundle_too_large", f"the bundle's members together exceed {MAX_TOTAL_BYTES} bytes")
            if len(out) > RATIO_GRACE_BYTES and len(out) / compressed > MAX_RATIO:
                raise BundleRefused(
                    "compression_ratio", f"{info.filename} expands more than {MAX_RATIO} times (zip bomb)"
                )
    return bytes(out)


def _end_record(data: bytes) -> tuple[int, tuple[Any, ...]] | None:
    """(offset, fields) of the end-of-central-directory record, found as zipfile finds it: at the
    very end, else within the last 64 KiB (a trailing comment)."""
    if len(data) < EOCD.size:
        return None
    at = len(data) - EOCD.size
    if data[at : at + 4] != EOCD_SIG:
        at = data.rfind(EOCD_SIG, max(0, len(data) - 65535 - EOCD.size))
        if at < 0 or at + EOCD.size > len(data):
            return None
    return at, EOCD.unpack_from(data, at)


def check_directory(data: bytes) -> int:
    """The central directory's real entry count, measured before zipfile parses it: the end
    record's counts and size within bounds (no zip64: a bundle never needs it), then a walk over
    the directory headers that stops at MAX_ENTRIES. Memory: a few integers, whatever the zip."""
    found = _end_record(data)
    if found is None:
        raise BundleRefused("not_a_zip", "the object is not a readable zip file")
    at, (_sig, disk, cd_disk, on_disk, declared, cd_size, cd_offset, _comment) = found
    zip64 = at >= 20 and data[at - 20 : at - 16] == ZIP64_LOCATOR_SIG
    if zip64 or 0xFFFF in (declared, on_disk) or 0xFFFFFFFF in (cd_size, cd_offset):
        raise BundleRefused("extra_members", "the bundle is a zip64 archive; 3 entries are expected")
    if disk or cd_disk or on_disk != declared:
        raise BundleRefused("not_a_zip", "the bundle spans several disks")
    if declared > MAX_ENTRIES:
        raise BundleRefused("extra_members", f"the bundle has {declared} entries; 3 are expected")
    if cd_size > MAX_DIRECTORY_BYTES:
        raise BundleRefused(
            "extra_members",
            f"the bundle's central directory is {cd_size} bytes: more "
            f"entries than the {declared} declared, or oversized ones",
        )
    start = at - cd_size  # where zipfile reads the directory from (data prepended is allowed)
    if start < 0:
        raise BundleRefused("not_a_zip", "the object is not a readable zip file")
    pos, entries = start, 0
    while pos < at:
        if pos + CENTRAL.size > at or data[pos : pos + 4] != CENTRAL_SIG:
            raise BundleRefused("not_a_zip", "the bundle's central directory is damaged")
        fields = CENTRAL.unpack_from(data, pos)
        name, extra, comment = fields[12], fields[13], fields[14]
        if name + extra + comment > MAX_ENTRY_EXTRA:
            raise BundleRefused("extra_members", "a central directory entry is oversized")
        pos += CENTRAL.size + name + extra + comment
        entries += 1
        if entries > MAX_ENTRIES:
            raise BundleRefused("extra_members", f"the bundle has more than {MAX_ENTRIES} entries; 3 are expected")
    if pos != at or entries != declared:
        raise BundleRefused(
            "extra_members" if entries > declared else "not_a_zip",
            f"the central directory holds {entries} entries, the end record declares {declared}",
        )
    return entries


def _image_type(name: str, body: bytes) -> str:
    """The member's content type, by its bytes: a well-formed PNG or JPEG within the caps."""
    image = image_info(body)
    if image is None:
        raise BundleRefused("not_an_image", f"{name} is not a well-formed PNG or JPEG image")
    problem = image.problem()
    if problem is not None:
        raise BundleRefused("image_too_large", f"{name}: {problem}")
    return image.content_type


def read_zip(data: bytes, tenant: str, app_uuid: str) -> Bundle:
    if len(data) > MAX_ZIP_BYTES:
        raise BundleRefused("zip_too_large", f"the bundle is larger than {MAX_ZIP_BYTES} bytes")
    check_directory(data)  # before zipfile parses anything
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
            raise BundleRefused(
                "extra_members", f"{len(extra)} unexpected member(s)", [{"member": n[:100]} for n in extra]
            )
        members: dict[str, Member] = {}
        budget = MAX_TOTAL_BYTES
        for info in sorted(infos, key=lambda i: i.filename):
            kind = expected[info.filename]
            cap = MAX_CSV_BYTES if kind == "details" else MAX_IMAGE_BYTES
            if info.file_size > cap:  # what the directory declares; the read checks the truth
                raise BundleRefused("member_too_large", f"{info.filename} is larger than {cap} bytes")
            try:
                body = _read_member(zf, info, cap, budget)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError):
                raise BundleRefused("corrupt_member", f"{info.filename} cannot be read (corrupt zip)") from None
            budget -= len(body)
            content_type = "text/csv" if kind == "details" else _image_type(info.filename, body)
            members[kind] = Member(info.filename, kind, body, content_type)
    return Bundle(tenant, app_uuid, members)
