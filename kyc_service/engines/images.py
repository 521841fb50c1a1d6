"""Decode untrusted image bytes into a normalised RGB image.

Measures the image from its header before decoding it (chalicelib/domain/images.py: pixels and
the decoded size, bit depth and channels counted), so a small file that would decode to hundreds
of megabytes (a 16-bit 7700 x 7700 PNG) is refused before it costs any memory. A JPEG asked for
at most `max_side` decodes at a reduced scale (libjpeg's DCT scaling, `Image.draft`). Applies
EXIF orientation, converts any PIL mode (RGBA, LA, P, L, I;16, I, F, CMYK) to 8-bit RGB.
Anything that does not decode raises `chalicelib.providers.UnusableInput` with a plain reason
(never the file's content). Peak memory per verification on hostile images: `make bench
SECTIONS=memory` (docs/performance.md).
"""

from __future__ import annotations

import io
import math

from chalicelib.domain.images import MAX_DECODED_BYTES, MAX_PIXELS, ImageInfo, measure
from chalicelib.providers.port import UnusableInput

MAX_INPUT_BYTES = 15 * 1024 * 1024  # Rekognition/Textract accept up to ~10-15 MB too
MAX_ASPECT = 20  # long side over short side (a card is about 1.6, a passport page 1.4)
# bytes per pixel of a decoded PIL image, by mode (formats other than PNG and JPEG: measured here)
MODE_BYTES = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 2,
    "PA": 2,
    "La": 2,
    "I;16": 2,
    "I;16B": 2,
    "I;16L": 2,
    "I;16N": 2,
    "RGB": 3,
    "YCbCr": 3,
    "LAB": 3,
    "HSV": 3,
    "RGBA": 4,
    "RGBa": 4,
    "RGBX": 4,
    "CMYK": 4,
    "I": 4,
    "F": 4,
}


def _refuse_oversized(info: ImageInfo) -> None:
    """Refuse, before any decode, an image whose decode would be too large or absurdly shaped."""
    if info.problem(MAX_PIXELS, MAX_DECODED_BYTES):
        raise UnusableInput("image dimensions too large")
    if max(info.width, info.height) > MAX_ASPECT * min(info.width, info.height):
        # no photograph of a card or a face is this shape, and resampling one costs unbounded memory
        raise UnusableInput("image shape is not a photograph")


def load_rgb(data: bytes, max_side: int | None = None):
    """Return a PIL RGB image from `data`, optionally scaled so its long side <= max_side."""
    from PIL import Image, ImageOps

    if not data:
        raise UnusableInput("empty image")
    if len(data) > MAX_INPUT_BYTES:
        raise UnusableInput("image too large")
    info = measure(data)  # PNG and JPEG: from the header bytes alone, before Pillow parses anything
    if info is not None:
        _refuse_oversized(info)
    try:
        with Image.open(io.BytesIO(data)) as img:
            if info is None:  # another format (the API takes only PNG and JPEG; the CLI reads any)
                _refuse_oversized(ImageInfo("image/other", img.width, img.height, MODE_BYTES.get(img.mode, 4), 8))
            if max_side and img.format == "JPEG" and max(img.size) > max_side:
                # libjpeg decodes at 1/2, 1/4 or 1/8 scale, never smaller than asked: the resize
                # below still sets the long side to max_side
                scale = max_side / max(img.size)
                img.draft("RGB", (math.ceil(img.width * scale), math.ceil(img.height * scale)))
            img.load()
            img = ImageOps.exif_transpose(img)
            rgb = to_rgb(img)
    except UnusableInput:
        raise
    except Exception as exc:  # PIL raises many types for corrupt/unsupported data
        raise UnusableInput("not a readable image") from exc
    if max_side and max(rgb.size) > max_side:
        scale = max_side / max(rgb.size)
        rgb = rgb.resize((max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale))), Image.LANCZOS)
    return rgb


def to_rgb(img):
    """Convert any PIL image mode to 8-bit RGB (alpha composited on white)."""
    import numpy as np
    from PIL import Image

    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img)
        lo, hi = float(arr.min()), float(arr.max())
        if hi > 255 or lo < 0:  # stretch to 0..255 in float32, in place (one copy of the image)
            arr = arr.astype(np.float32)
            arr -= lo
            arr *= 255.0 / (hi - lo) if hi > lo else 0.0
        return Image.fromarray(
            np.clip(arr, 0, 255, out=arr if arr.dtype == np.float32 else None).astype(np.uint8), "L"
        ).convert("RGB")
    if mode == "P":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")
