"""Find an ID card or passport page in a photograph and flatten it (OpenCV).

`find_document(rgb)` looks for the document's outline, on a copy 800 px long, in masks tried in
turn: the colour distance from the background (modelled on the picture's border as a plane, so
that light drifting across a table does not matter), edges (Canny), brightness (Otsu). An
outline is a convex quadrilateral with a document's proportions (ID-1 cards 85.6 x 54 mm =
1.586, passport pages 125 x 88 mm = 1.42; 1.25-1.95 accepted for perspective), corners within
25 degrees of square, each side along an edge, a brightness step against the background on at
least three sides, and nothing unlike the background outside it (an inner rectangle of a
scanned card, such as its portrait, has the card's text around it). It is warped to a flat
rectangle, long side across, at about the detector's working size; turning it the right way up
(0/180, or 90 for a portrait-format card) is left to the OCR's text-direction check
(`ocr.read_page`).

A scan where the document fills the frame (its outline 85 % of the picture or more, or nothing
around it to compare with) is returned unchanged; small skew is the OCR's to take out.
"""

from __future__ import annotations

from dataclasses import dataclass

DETECT_SIDE = 800  # outline search on a copy this size (long side)
MIN_AREA = 0.12  # the document covers at least this share of the picture
FILLS_FRAME = 0.85  # from this share up nothing is warped
ASPECT = (1.25, 1.95)
OUT_MIN_LONG, OUT_MAX_LONG = 900, 1170  # ~736 px on the short side: what the detector works at


@dataclass
class Found:
    image: object  # PIL RGB: the flattened document (or the input)
    warped: bool
    quad: list | None  # corner points in the input's coordinates (tl, tr, br, bl)


def _order(pts):
    import numpy as np

    pts = np.asarray(pts, dtype=np.float32).reshape(4, 2)
    s = pts.sum(axis=1)
    d = np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], dtype=np.float32)


def _sides(q):
    import numpy as np

    top = np.linalg.norm(q[1] - q[0])
    bottom = np.linalg.norm(q[2] - q[3])
    left = np.linalg.norm(q[3] - q[0])
    right = np.linalg.norm(q[2] - q[1])
    return (top + bottom) / 2, (left + right) / 2


def _corner_angles_ok(q, tolerance: float = 25.0) -> bool:
    import numpy as np

    for i in range(4):
        a, b, c = q[i - 1], q[i], q[(i + 1) % 4]
        v1, v2 = a - b, c - b
        cos = float(np.dot(v1, v2) / (np.linalg.norm(v1) * np.linalg.norm(v2) + 1e-9))
        if abs(np.degrees(np.arccos(np.clip(cos, -1, 1))) - 90) > tolerance:
            return False
    return True


def _on_edges(edges, q, share: float = 0.6) -> bool:
    """Each side of the outline runs along an edge of the picture (a side at the frame's border
    counts as supported: the document may touch it)."""
    import cv2
    import numpy as np

    h, w = edges.shape
    near = cv2.dilate(edges, np.ones((21, 21), np.uint8))  # the outline lies on the dilated edges
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        hits = 0
        for t in np.linspace(0.05, 0.95, 40):
            x, y = a + (b - a) * t
            xi, yi = round(x), round(y)
            if xi <= 2 or yi <= 2 or xi >= w - 3 or yi >= h - 3 or near[yi, xi]:
                hits += 1
        if hits < share * 40:
            return False
    return True


def _side_contrast(gray, q, step: float = 6.0) -> list[float]:
    """Per side, the median brightness step across it (inside vs outside, `step` px away)."""
    import numpy as np

    h, w = gray.shape
    centre = q.mean(axis=0)
    out = []
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        d = b - a
        normal = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-9)
        if np.dot(centre - (a + b) / 2, normal) < 0:
            normal = -normal  # pointing inwards
        diffs, border = [], 0
        for t in np.linspace(0.1, 0.9, 25):
            p = a + d * t
            pin, pout = p + normal * step, p - normal * step
            xo, yo = round(pout[0]), round(pout[1])
            if not (0 <= xo < w and 0 <= yo < h):
                border += 1
                continue
            xi, yi = round(pin[0]), round(pin[1])
            if 0 <= xi < w and 0 <= yi < h:
                diffs.append(abs(float(gray[yi, xi]) - float(gray[yo, xo])))
        if border > 12:
            out.append(float("inf"))
        elif not diffs:
            out.append(0.0)
        else:  # a step that holds along the side: the 25th percentile, not the median
            out.append(float(np.percentile(diffs, 25)))
    return out


def _stands_out(edges, q, share: float = 1.0) -> bool:
    """A document lies on a plainer background: outside the outline (beyond a margin) there
    is much less fine detail than inside. An inner rectangle of a scanned card (its portrait,
    a frame) fails this: the rest of the card around it is as busy as the inside."""
    import cv2
    import numpy as np

    h, w = edges.shape
    inside = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(inside, q.astype(np.int32), 255)
    margin = max(3, int(0.03 * max(h, w)))
    grown = cv2.dilate(inside, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    shrunk = cv2.erode(inside, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    outside = grown == 0
    if outside.sum() < 0.03 * h * w:
        return False  # nothing around it to compare with: a scan, nothing to flatten
    d_in = float(edges[shrunk > 0].mean()) if (shrunk > 0).any() else 0.0
    d_out = float(edges[outside].mean())
    # a small outline must stand out more: a portrait on a card fills a fifth of it or less
    return d_in > 0 and d_out < (0.5 if share >= 0.3 else 0.3) * d_in


def _contrasted(gray, q) -> bool:
    """The outline is a brightness step on at least three sides (a document against its
    background), not a line drawn through the document's own content."""
    import numpy as np

    steps = _side_contrast(gray, q)
    finite = [s for s in steps if s != float("inf")]
    return sum(s >= 12 for s in steps) >= 3 and (not finite or float(np.median(finite)) >= 15)


def _masks(rgb_small, gray, blur):
    """Foreground masks to look for the outline in, most telling first: the colour distance
    from the picture's border (a photo's border is its background), then edges, then Otsu."""
    import cv2
    import numpy as np

    h, w = gray.shape
    lab = cv2.cvtColor(cv2.GaussianBlur(rgb_small, (0, 0), 3).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    # the background's colour, modelled from the picture's border as a plane in x and y (a
    # table's colour drifts across a photo with the light)
    b = max(4, int(0.03 * max(h, w)))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    border = np.zeros((h, w), bool)
    border[:b], border[-b:], border[:, :b], border[:, -b:] = True, True, True, True
    design = np.stack([np.ones_like(xs), xs / w, ys / h], axis=-1)
    coef, *_ = np.linalg.lstsq(design[border], lab[border], rcond=None)
    residual = np.linalg.norm(lab - design @ coef, axis=2)
    spread = float(np.percentile(residual[border], 90))
    colour = (residual > max(10.0, 1.5 * spread)).astype(np.uint8) * 255
    colour = cv2.morphologyEx(colour, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    colour = cv2.morphologyEx(colour, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    yield "colour", colour
    edges = cv2.Canny(blur, 40, 120)
    yield "edges", cv2.dilate(edges, np.ones((5, 5), np.uint8), iterations=2)
    _, otsu = cv2.threshold(cv2.GaussianBlur(gray, (9, 9), 0), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    yield "otsu", otsu
    yield "otsu", 255 - otsu


def _alone(mask, q) -> bool:
    """Everything that differs from the background lies inside the outline (beyond a margin):
    the document, not a part of it (a portrait on a scanned card has the card's text around it)."""
    import cv2
    import numpy as np

    h, w = mask.shape
    inside = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(inside, q.astype(np.int32), 255)
    margin = max(3, int(0.03 * max(h, w)))
    grown = cv2.dilate(inside, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    outside = grown == 0
    if outside.sum() < 0.03 * h * w:
        return False
    return float((mask[outside] > 0).mean()) < 0.05


def _quads(rgb_small):
    """Candidate quadrilaterals (ordered corners) in the picture, largest first."""
    import cv2

    gray = cv2.cvtColor(rgb_small, cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    area = float(h * w)
    blur = cv2.GaussianBlur(gray, (5, 5), 0)
    edges = cv2.Canny(blur, 40, 120)
    out = []
    for kind, mask in _masks(rgb_small, gray, blur):
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for c in sorted(contours, key=cv2.contourArea, reverse=True)[:5]:
            hull = cv2.convexHull(c)
            a = cv2.contourArea(hull)
            if a < MIN_AREA * area:
                break
            peri = cv2.arcLength(hull, True)
            quad = None
            for eps in (0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1):
                approx = cv2.approxPolyDP(hull, eps * peri, True)
                if len(approx) == 4:
                    quad = approx
                    break
            if quad is None:
                rect = cv2.minAreaRect(hull)
                box = cv2.boxPoints(rect)
                if a < 0.85 * cv2.contourArea(box):
                    continue
                quad = box
            q = _order(quad)
            long_side, short_side = sorted(_sides(q), reverse=True)
            if short_side <= 0 or not ASPECT[0] <= long_side / short_side <= ASPECT[1]:
                continue
            if not (_corner_angles_ok(q) and _on_edges(edges, q) and _contrasted(blur, q)):
                continue
            share = cv2.contourArea(q.reshape(-1, 1, 2)) / area
            if not (_alone(mask, q) if kind == "colour" else _stands_out(edges, q, share)):
                continue
            out.append((cv2.contourArea(q.reshape(-1, 1, 2)), q))
        if out:
            break
    return [q for _, q in sorted(out, key=lambda t: -t[0])]


def find_document(rgb) -> Found:
    """The document flattened out of `rgb` (PIL RGB), or `rgb` itself when none is found or
    it already fills the frame."""
    import cv2
    import numpy as np
    from PIL import Image

    w, h = rgb.size
    scale = min(1.0, DETECT_SIDE / max(w, h))
    small = rgb.resize((max(1, round(w * scale)), max(1, round(h * scale)))) if scale < 1 else rgb
    quads = _quads(np.ascontiguousarray(np.asarray(small)))
    if not quads:
        return Found(rgb, False, None)
    q = quads[0] / scale
    quad_area = cv2.contourArea(q.reshape(-1, 1, 2))
    top, side = _sides(q)
    if quad_area >= FILLS_FRAME * w * h:
        return Found(rgb, False, q.tolist())  # a scan: small skew is the OCR's to take out
    long_side = max(top, side)
    out_long = int(min(OUT_MAX_LONG, max(OUT_MIN_LONG, long_side)))
    ratio = max(top, side) / max(1.0, min(top, side))
    out_short = round(out_long / ratio)
    if top >= side:
        dst = np.array([[0, 0], [out_long, 0], [out_long, out_short], [0, out_short]], dtype=np.float32)
        size = (out_long, out_short)
    else:  # the long side runs vertically: flatten it upright, then turn it (below)
        dst = np.array([[0, 0], [out_short, 0], [out_short, out_long], [0, out_long]], dtype=np.float32)
        size = (out_short, out_long)
    m = cv2.getPerspectiveTransform(q.astype(np.float32), dst)
    flat = cv2.warpPerspective(np.asarray(rgb), m, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    img = Image.fromarray(flat)
    if size[1] > size[0]:
        img = img.transpose(Image.Transpose.ROTATE_90)
    return Found(img, True, q.tolist())
