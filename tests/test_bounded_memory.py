"""Bounded memory before any parsing: images measured from their headers (chalicelib/domain/images.py,
bit depth counted), the zip's central directory measured before zipfile reads it
(chalicelib/bundles/archive.py). Memory is measured with tracemalloc (allocations, deterministic)."""

from __future__ import annotations

import struct
import tracemalloc
import zlib

import pytest

from chalicelib.bundles import archive
from chalicelib.bundles.archive import BundleRefused
from chalicelib.bundles.images import image_info, image_type
from chalicelib.domain.images import MAX_DECODED_BYTES, MAX_PIXELS, measure
from tests.test_bundles import ROW, details_csv, make_zip, png


def chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def declared_png(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A well-formed PNG whose header declares width x height; its data is a few bytes."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([depth, colour, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def declared_jpeg(width: int, height: int, precision: int = 8, components: int = 3, app_bytes: int = 16) -> bytes:
    app = b"\xff\xe1" + (app_bytes + 2).to_bytes(2, "big") + b"\x00" * app_bytes
    sof = (
        b"\xff\xc0"
        + (8 + 3 * components).to_bytes(2, "big")
        + bytes([precision])
        + height.to_bytes(2, "big")
        + width.to_bytes(2, "big")
        + bytes([components])
        + b"\x01\x11\x00" * components
    )
    sos = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app + sof + sos + b"\x12\x34" + b"\xff\xd9"


def test_the_16_bit_png_of_issue_13_is_refused_from_its_header():
    data = declared_png(7700, 7700, depth=16)
    info = measure(data)
    assert (info.width, info.height, info.channels, info.bit_depth) == (7700, 7700, 3, 16)
    assert info.pixels == 59_290_000 and info.decoded_bytes == 355_740_000
    assert "bytes decoded" in info.problem() or "pixels" in info.problem()
    assert image_type(data) is None and image_info(data) is not None  # well-formed, refused by size
    tracemalloc.start()
    measure(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10_000  # the header only


@pytest.mark.parametrize(
    "width,height,depth,colour,refused",
    [
        (4000, 3000, 8, 2, False),  # a 12 MP phone photo: 36 MB decoded
        (7000, 7000, 8, 2, False),  # 49 MP, 147 MB decoded: at the caps
        (7000, 7000, 8, 6, True),  # 49 MP RGBA: 196 MB decoded
        (5000, 5000, 16, 6, True),  # 25 MP, 16-bit RGBA: 200 MB decoded
        (8000, 7000, 1, 0, True),  # 56 MP of one bit: over the pixel cap all the same
    ],
)
def test_caps_count_pixels_channels_and_bit_depth(width, height, depth, colour, refused):
    info = measure(declared_png(width, height, depth, colour))
    assert (info.problem() is not None) == refused
    assert info.pixels <= MAX_PIXELS or refused
    assert info.decoded_bytes <= MAX_DECODED_BYTES or refused


def test_jpeg_frame_headers_are_found_past_other_segments():
    info = measure(declared_jpeg(4032, 3024, app_bytes=60_000))
    assert (info.content_type, info.width, info.height, info.channels, info.bit_depth) == (
        "image/jpeg",
        4032,
        3024,
        3,
        8,
    )
    assert measure(declared_jpeg(8000, 8000, precision=12)).problem() is not None
    assert image_type(declared_jpeg(640, 480)) == "image/jpeg"
    assert measure(b"\xff\xd8\xff\xda\x00\x08") is None  # a scan before any frame header
    assert measure(b"GIF89a") is None and measure(png(4, 4)[:20]) is None


def directory_bomb(real: int = 380_000, declared: int = 3) -> bytes:
    """A zip whose end record declares `declared` entries while its central directory holds `real`
    (one-byte names, 47 bytes each): 17.9 MB for 380,000 entries, under the 20 MB cap."""
    entry = struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0) + b"a"
    directory = entry * real
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, declared, declared, len(directory), 0, 0)
    return directory + end


def test_a_central_directory_of_380000_entries_is_refused_before_zipfile_reads_it():
    data = directory_bomb()
    assert len(data) < archive.MAX_ZIP_BYTES
    tracemalloc.start()
    with pytest.raises(BundleRefused) as refused:
        archive.read_zip(data, "acme", "0b1c")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert refused.value.code == "extra_members"
    assert peak < 100_000  # kilobytes, not the 150 MB zipfile spends on such a directory


def test_a_directory_holding_more_entries_than_declared_is_refused_by_the_walk():
    data = directory_bomb(real=5, declared=3)  # small enough for the size cap: the walk counts
    with pytest.raises(BundleRefused) as refused:
        archive.check_directory(data)
    assert refused.value.code == "extra_members" and "holds 5 entries" in refused.value.message


def test_zip64_and_damaged_directories_are_refused():
    good = make_zip(
        [("0b1c_details.csv", details_csv(ROW)), ("0b1c_selfie.png", png(seed=1)), ("0b1c_license.png", png(seed=2))]
    )
    assert archive.check_directory(good) == 3
    at = good.rfind(b"PK\x05\x06")
    locator = b"PK\x06\x07" + b"\x00" * 16
    with pytest.raises(BundleRefused):
        archive.check_directory(good[:at] + locator + good[at:])
    damaged = bytearray(good)
    start = at - struct.unpack_from("<L", good, at + 12)[0]
    damaged[start : start + 4] = b"XXXX"
    with pytest.raises(BundleRefused) as refused:
        archive.check_directory(bytes(damaged))
    assert refused.value.code == "not_a_zip"


def test_a_bundle_image_declaring_too_much_is_refused_with_its_own_code():
    data = make_zip(
        [
            ("0b1c_details.csv", details_csv(ROW)),
            ("0b1c_selfie.png", png(seed=1)),
            ("0b1c_license.png", declared_png(7700, 7700, depth=16)),
        ]
    )
    with pytest.raises(BundleRefused) as refused:
        archive.read_zip(data, "acme", "0b1c")
    assert refused.value.code == "image_too_large" and "0b1c_license.png" in refused.value.message
