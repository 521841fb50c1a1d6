"""Generated documents made worse: degraded copies (`degrade_image` in docgen) and documents photographed
on a table (`photograph`: turned, in perspective, on a textured background, blurred)."""

from __future__ import annotations

import io
import random


def photograph(
    png: bytes,
    seed: int = 0,
    max_angle: float = 5.0,
    quarter_turns: int = 0,
    perspective: float = 0.0,
    blur: float = 0.0,
    fill: float | None = None,
    frame: tuple[int, int] = (2000, 1500),
    quality: int = 80,
) -> bytes:
    """The document as if photographed on a table, as a JPEG of `frame` size:
    - turned by `quarter_turns` x 90 degrees plus up to `max_angle` degrees either way;
    - seen at an angle: each corner moved by up to `perspective` x the document's size;
    - `fill`: the share of the frame the document's long side spans (default 0.5-0.75);
    - on a background with a colour gradient, a grain like a table's and noise;
    - Gaussian `blur` (sigma, pixels)."""
    import cv2
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    card = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    fw, fh = frame
    h, w = card.shape[:2]
    # `fill`: the share of the frame the document's long side spans, along the side it runs by
    along = fw if quarter_turns % 2 == 0 else fh
    span = (fill if fill is not None else float(rng.uniform(0.5, 0.75))) * along
    scale = span / max(w, h)
    cx, cy = fw / 2 + rng.uniform(-0.08, 0.08) * fw, fh / 2 + rng.uniform(-0.08, 0.08) * fh
    angle = np.radians(90 * quarter_turns + rng.uniform(-max_angle, max_angle))
    corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) * scale
    corners += rng.uniform(-perspective, perspective, (4, 2)) * max(w, h) * scale
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = (corners @ rot.T + [cx, cy]).astype(np.float32)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(card, m, (fw, fh), flags=cv2.INTER_CUBIC)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (fw, fh))
    base = rng.uniform(60, 170, 3)
    ys, xs = np.mgrid[0:fh, 0:fw].astype(np.float32)
    gradient = (xs / fw - 0.5)[..., None] * rng.uniform(-40, 40, 3) + (ys / fh - 0.5)[..., None] * rng.uniform(
        -40, 40, 3
    )
    # a table's grain: wavy stripes at a random angle, and fine noise
    theta = rng.uniform(0, np.pi)
    along = xs * np.cos(theta) + ys * np.sin(theta)
    across = -xs * np.sin(theta) + ys * np.cos(theta)
    grain = np.sin(along / rng.uniform(6, 14) + 3 * np.sin(across / rng.uniform(80, 200)))
    streaks = cv2.resize(
        rng.normal(0, 1, (fh // 2, max(2, fw // 40))).astype(np.float32), (fw, fh), interpolation=cv2.INTER_LINEAR
    )
    centre = (fw / 2, fh / 2)
    streaks = cv2.warpAffine(
        streaks, cv2.getRotationMatrix2D(centre, float(np.degrees(theta)), 1.5), (fw, fh), borderMode=cv2.BORDER_REFLECT
    )
    bg = (
        base
        + gradient
        + (grain * rng.uniform(6, 16) + streaks * rng.uniform(10, 25))[..., None]
        + rng.normal(0, 18, (fh, fw, 3))
    )
    bg = cv2.GaussianBlur(bg.astype(np.float32), (0, 0), 1.2)
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    out = warped.astype(np.float32) * alpha + bg * (1 - alpha)
    if blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    img = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def photograph_settings(index: int, seed: int = 0) -> dict:
    """The benchmark's photographs of real cards: every quarter turn in turn, up to 6 degrees
    of skew, perspective up to 6% of the card's size, blur 0.5-1.1 px, on a background."""
    rnd = random.Random(seed * 1000 + index)
    return {
        "seed": seed * 1000 + index,
        "quarter_turns": index % 4,
        "max_angle": 6.0,
        "perspective": 0.06,
        "blur": round(rnd.uniform(0.5, 1.1), 2),
        "fill": round(rnd.uniform(0.5, 0.7), 2),
    }
