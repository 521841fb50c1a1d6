"""The self-hosted quality gates' measurements, from dlib's 5-point landmarks only (the 68-point
model's licence forbids commercial use): the face's size, its sharpness and a rough yaw.

- size: the face box's height as a fraction of the image's height;
- sharpness: the variance of the Laplacian of the face crop, scaled to 128 x 128 grey levels
  (a blurred or upscaled face has little high-frequency energy);
- yaw: how far the nose point sits from the midpoint between the eyes, along the eye line, as a
  fraction of the eye distance, turned into degrees assuming the nose tip stands 0.6 eye distances
  in front of the eyes' plane (a rough figure: it tells a turned head from a frontal one, no more).

docs/verification.md gives the thresholds (chalicelib/domain/quality.py) and what the face fixtures
measure.
"""

from __future__ import annotations

import io
import math

from chalicelib.providers.port import FaceQuality, Portrait

CROP_SIDE = 128
NOSE_DEPTH = 0.6  # the nose tip's distance in front of the eyes, in eye distances (a rough constant)


def _box(rect, width: int, height: int) -> tuple[int, int, int, int]:
    return max(0, rect.left()), max(0, rect.top()), min(width, rect.right()), min(height, rect.bottom())


def measure(img, rect, points) -> FaceQuality:
    """img: an RGB array; rect: dlib's rectangle; points: the 5 landmarks as (x, y)."""
    import numpy as np
    from PIL import Image

    height, width = img.shape[0], img.shape[1]
    left, top, right, bottom = _box(rect, width, height)
    crop = Image.fromarray(img[top:bottom, left:right]).convert("L").resize((CROP_SIDE, CROP_SIDE))
    grey = np.asarray(crop, dtype=np.float64)
    laplacian = grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1]
    (a, b), (c, d), nose = (points[0], points[1]), (points[2], points[3]), points[4]
    eye1 = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    eye2 = ((c[0] + d[0]) / 2, (c[1] + d[1]) / 2)
    axis = (eye2[0] - eye1[0], eye2[1] - eye1[1])
    distance = math.hypot(*axis) or 1.0
    mid = ((eye1[0] + eye2[0]) / 2, (eye1[1] + eye2[1]) / 2)
    offset = ((nose[0] - mid[0]) * axis[0] + (nose[1] - mid[1]) * axis[1]) / distance / distance
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, offset / NOSE_DEPTH))))
    return FaceQuality(
        source="selfhosted",
        size=round((bottom - top) / height, 4),
        yaw=round(yaw, 1),
        sharpness=round(float(laplacian.var()), 1),
        brightness=round(float(grey.mean()) / 2.55, 1),
    )


def portrait(img, rect) -> Portrait:
    """The face on the ID with a margin of a quarter of its size: the box (fractions of the image,
    as Rekognition gives it) and the crop as JPEG."""
    from PIL import Image

    height, width = img.shape[0], img.shape[1]
    margin = int(0.25 * max(rect.width(), rect.height()))
    left, top = max(0, rect.left() - margin), max(0, rect.top() - margin)
    right, bottom = min(width, rect.right() + margin), min(height, rect.bottom() + margin)
    buf = io.BytesIO()
    Image.fromarray(img[top:bottom, left:right]).save(buf, "JPEG", quality=90)
    box = {"Width": (right - left) / width, "Height": (bottom - top) / height}
    box.update({"Left": left / width, "Top": top / height})
    return Portrait({k: round(v, 4) for k, v in box.items()}, buf.getvalue())
