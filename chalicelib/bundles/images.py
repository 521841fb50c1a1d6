"""Bundle images judged by their bytes (no Pillow in Lambda): a well-formed PNG or JPEG whose
header declares no decompression bomb.

Nothing here decodes or copies image data. The size, channels and bit depth come from the header
alone (chalicelib/domain/images.py: PNG's IHDR, JPEG's frame header), and the caps count bit depth.
The well-formedness walk steps over the PNG chunks (checking each CRC on a view of the bytes, no
copy) or the JPEG marker segments by their lengths, and looks for the end marker.
"""

from __future__ import annotations

import zlib

from chalicelib.domain.images import JPEG_SIG, MAX_PIXELS, PNG_SIG, ImageInfo, measure

__all__ = ["MAX_PIXELS", "image_info", "image_type"]


def _png_ok(data: memoryview) -> bool:
    pos, first, seen_idat = 8, True, False
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        ctype = bytes(data[pos + 4 : pos + 8])
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > len(data) or not ctype.isalpha():
            return False
        crc = zlib.crc32(data[pos + 8 : pos + 8 + length], zlib.crc32(ctype))
        if crc != int.from_bytes(data[end - 4 : end], "big"):
            return False
        if first and ctype != b"IHDR":
            return False
        first = False
        seen_idat |= ctype == b"IDAT"
        if ctype == b"IEND":
            return seen_idat
        pos = end
    return False


def _ends_with_eoi(data: memoryview) -> bool:
    """The JPEG's last bytes, trailing zero padding aside, are the EOI marker (no copy)."""
    end = len(data)
    while end > 0 and data[end - 1] == 0:
        end -= 1
    return end >= 2 and data[end - 2] == 0xFF and data[end - 1] == 0xD9


def _jpeg_ok(data: memoryview) -> bool:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > len(data):
            return False
        if marker == 0xDA:  # start of scan: entropy-coded data follows up to EOI
            return _ends_with_eoi(data)
        pos += 2 + length
    return False


def image_info(data: bytes) -> ImageInfo | None:
    """The header's measurements when `data` is a well-formed PNG or JPEG, else None."""
    view = memoryview(data)
    info = measure(view)
    if info is None:
        return None
    if info.content_type == "image/png":
        return info if bytes(view[:8]) == PNG_SIG and _png_ok(view) else None
    return info if bytes(view[:3]) == JPEG_SIG and _jpeg_ok(view) else None


def image_type(data: bytes) -> str | None:
    """'image/png' or 'image/jpeg' when the bytes are a well-formed image within the caps, else None."""
    info = image_info(data)
    return info.content_type if info is not None and info.problem() is None else None
