"""The engines' image loader: refuses from the header what would cost too much, before decoding."""

from __future__ import annotations

import io
import zlib

import pytest

pytest.importorskip("PIL", reason="the self-hosted engines' requirements are not installed")

from chalicelib.providers.port import UnusableInput
from kyc_service.engines import images


def png_header(width: int, height: int, depth: int, colour: int) -> bytes:
    """A PNG of only its signature, IHDR (with a right CRC) and an empty IDAT: what the caps read."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([depth, colour, 0, 0, 0])

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_a_16_bit_png_too_large_decoded_is_refused_before_pillow_parses_it(monkeypatch):
    from PIL import Image

    def never(*args, **kwargs):
        raise AssertionError("Pillow was asked to open a refused image")

    monkeypatch.setattr(Image, "open", never)
    with pytest.raises(UnusableInput, match="too large"):
        images.load_rgb(png_header(7700, 7700, 16, 0))  # 59 megapixels, 118 MB decoded
    with pytest.raises(UnusableInput, match="too large"):
        images.load_rgb(png_header(5000, 5000, 16, 6))  # 25 megapixels, 200 MB decoded


def test_an_absurd_shape_is_refused():
    with pytest.raises(UnusableInput, match="not a photograph"):
        images.load_rgb(png_header(1, 49_000_000, 8, 0))
    with pytest.raises(UnusableInput, match="not a photograph"):
        images.load_rgb(png_header(21_000, 1_000, 8, 2))


def test_a_large_jpeg_asked_small_decodes_at_reduced_scale(monkeypatch):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4000, 3000), (120, 90, 60)).save(buf, "JPEG")
    sizes = []
    real_load = Image.Image.load

    def load(self):
        sizes.append(self.size)  # the size the decoder produces (after draft)
        return real_load(self)

    monkeypatch.setattr(Image.Image, "load", load)
    img = images.load_rgb(buf.getvalue(), max_side=800)
    assert img.size == (800, 600)
    assert sizes and max(sizes[0]) == 1000  # 1/4 scale: the smallest at least 800 wide


def test_16_bit_grey_is_stretched_to_8_bits():
    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).save(buf, "PNG")
    rgb = np.asarray(images.load_rgb(buf.getvalue()))
    assert rgb.dtype == np.uint8 and rgb.shape == (64, 64, 3)
    assert rgb.min() == 0 and rgb.max() == 255
