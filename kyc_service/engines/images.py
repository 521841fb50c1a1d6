"""Decode untrusted image bytes into a normalised RGB image.

Applies EXIF orientation, converts any PIL mode (RGBA, LA, P, L, I;16, I, F, CMYK)
to 8-bit RGB and caps the size. Anything that does not decode raises
`chalicelib.providers.UnusableInput` with a plain reason (never the file's content).
"""

from __future__ import annotations

import io

from chalicelib.providers.port import UnusableInput

MAX_INPUT_BYTES = 15 * 1024 * 1024  # Rekognition/Textract accept up to ~10-15 MB too
MAX_PIXELS = 60_000_000  # decompression-bomb guard


def load_rgb(data: bytes, max_side: int | None = None):
    """Return a PIL RGB image from `data`, optionally scaled so its long side <= max_side."""
    from PIL import Image, ImageOps

    if not data:
        raise UnusableInput("empty image")
    if len(data) > MAX_INPUT_BYTES:
        raise UnusableInput("image too large")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise UnusableInput("image dimensions too large")
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
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        if hi > 255 or lo < 0:
            arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L").convert("RGB")
    if mode == "P":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")
