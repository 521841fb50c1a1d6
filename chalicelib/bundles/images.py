"""Bundle images judged by their bytes (no Pillow in Lambda): a well-formed PNG or JPEG whose
declared size is no decompression bomb."""
from __future__ import annotations

import zlib

MAX_PIXELS = 50_000_000                 # declared image size (decompression bombs later on)

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


def image_type(data: bytes) -> str | None:
    """'image/png' or 'image/jpeg' when the bytes are a well-formed image, else None."""
    if data.startswith(PNG_SIG) and _png_ok(data):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff") and _jpeg_ok(data):
        return "image/jpeg"
    return None
