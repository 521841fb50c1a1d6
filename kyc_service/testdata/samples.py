"""Demo face images that come only from an installed PyPI package (scikit-image).

- Genuine pair: `skimage.data.astronaut()` (NASA photograph of astronaut Eileen Collins,
  public domain). There is no second photograph of the same person shipped offline, so the
  "selfie" and the "licence portrait" are two different crops, scales and colour treatments
  of that one photograph (documented in docs/engines.md).
- Impostor: a face from `skimage.data.lfw_subset()` (Labeled Faces in the Wild, 25x25
  greyscale thumbnails shipped inside scikit-image), scaled up: a different person.

Nothing is downloaded: both arrays ship in the scikit-image wheel.
"""

from __future__ import annotations

import io

# Index into lfw_subset() (the first 100 entries are faces). Chosen because dlib finds
# its face after upscaling and it is far from the astronaut (distance ~0.8).
IMPOSTOR_LFW_INDEX = 97


def _png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def astronaut():
    """The astronaut photograph as a PIL RGB image (512x512)."""
    from PIL import Image
    from skimage import data

    return Image.fromarray(data.astronaut()).convert("RGB")


def selfie_image():
    """A 'selfie': upper-body crop, upscaled, slightly warmer colours."""
    from PIL import ImageEnhance

    img = astronaut().crop((60, 0, 380, 340)).resize((480, 510))
    return ImageEnhance.Color(img).enhance(1.15)


def portrait_image():
    """A 'licence portrait': tight head crop, smaller, desaturated and brighter."""
    from PIL import ImageEnhance

    img = astronaut().crop((130, 10, 300, 220)).resize((240, 296))
    img = ImageEnhance.Color(img).enhance(0.6)
    return ImageEnhance.Brightness(img).enhance(1.08)


def impostor_image():
    """A different person's face (LFW thumbnail), upscaled to selfie size, RGB."""
    import numpy as np
    from PIL import Image
    from skimage import data

    face = np.asarray(data.lfw_subset()[IMPOSTOR_LFW_INDEX])
    if face.dtype.kind == "f":  # scikit-image ships it as floats in 0..1
        face = np.clip(face, 0, 1) * 255
    grey = Image.fromarray(face.astype(np.uint8), "L")
    return grey.resize((240, 240), Image.BICUBIC).convert("RGB")


def genuine_pair() -> tuple[bytes, bytes]:
    """(selfie_png, portrait_png) of the same person."""
    return _png(selfie_image()), _png(portrait_image())


def impostor_selfie() -> bytes:
    """A selfie PNG of a different person than `genuine_pair()`'s."""
    return _png(impostor_image())
