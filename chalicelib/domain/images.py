"""Images measured from their headers alone: type, size, channels and bit depth, and what a full
decode would cost, before anything decodes them (no Pillow in Lambda; no I/O here).

A PNG says it all in its first 33 bytes (the IHDR chunk); a JPEG in its frame header (SOFn), found
by walking the marker segments from the start, skipping each segment's body by its length. The
caps count bit depth and channels: a 16-bit RGB PNG of 7700 x 7700 pixels is 59 megapixels but
356 MB decoded, so it is refused although its pixel count alone might pass.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PIXELS = 50_000_000  # width x height
MAX_DECODED_BYTES = 3 * MAX_PIXELS  # what an 8-bit RGB image at the pixel cap decodes to
HEADER_BYTES = 256 * 1024  # how far into a JPEG its frame header is looked for

PNG_SIG = b"\x89PNG\r\n\x1a\n"
JPEG_SIG = b"\xff\xd8\xff"
# PNG colour type -> channels (palette images decode to one index per pixel)
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
# JPEG start-of-frame markers (C4 DHT, C8 JPG and CC DAC are not frames)
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True)
class ImageInfo:
    content_type: str  # "image/png" or "image/jpeg"
    width: int
    height: int
    channels: int
    bit_depth: int  # bits per sample

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        """The image fully decoded at its own depth (samples of 9-16 bits take two bytes)."""
        return self.pixels * self.channels * ((self.bit_depth + 7) // 8)

    def problem(self, max_pixels: int = MAX_PIXELS, max_decoded: int = MAX_DECODED_BYTES) -> str | None:
        """Why the image is refused before any decode, or None."""
        if self.pixels > max_pixels:
            return f"the image has {self.pixels} pixels; at most {max_pixels} are accepted"
        if self.decoded_bytes > max_decoded:
            return (
                f"the image would take {self.decoded_bytes} bytes decoded ({self.bit_depth}-bit, "
                f"{self.channels} channels); at most {max_decoded} are accepted"
            )
        return None


def _png(data: bytes | memoryview) -> ImageInfo | None:
    if len(data) < 33 or bytes(data[12:16]) != b"IHDR" or int.from_bytes(data[8:12], "big") != 13:
        return None
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    depth, colour = data[24], data[25]
    if width <= 0 or height <= 0 or colour not in PNG_CHANNELS or depth not in PNG_DEPTHS[colour]:
        return None
    return ImageInfo("image/png", width, height, PNG_CHANNELS[colour], depth)


def _jpeg(data: bytes | memoryview) -> ImageInfo | None:
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, or the scan before any frame header
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            return None
        if marker in SOF_MARKERS:
            if length < 8 or pos + 10 > end:
                return None
            precision = data[pos + 4]
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            components = data[pos + 9]
            if width <= 0 or height <= 0 or components <= 0 or precision not in (8, 12, 16):
                return None
            return ImageInfo("image/jpeg", width, height, components, precision)
        pos += 2 + length
    return None


def measure(data: bytes | memoryview) -> ImageInfo | None:
    """What the header says, from the first bytes only (the whole image is never needed); None
    when `data` does not start like a PNG or JPEG whose header can be read."""
    view = memoryview(data)[:HEADER_BYTES]
    if bytes(view[:8]) == PNG_SIG:
        return _png(view)
    if bytes(view[:3]) == JPEG_SIG:
        return _jpeg(view)
    return None
