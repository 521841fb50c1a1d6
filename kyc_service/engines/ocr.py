"""Text recognition with RapidOCR (PP-OCR ONNX models shipped inside the rapidocr wheel).

`read_page(rgb)` returns a `Page`: one `Line` per detected text box (text, confidence 0-100,
an upright axis-aligned box, and the recogniser's word boxes), with the page turned upright:
- text running vertically (a card photographed on its side) -> the image is turned 90 degrees
  and detected again;
- text upside down (the direction classifier says 180 for most of the text) -> the boxes are
  turned with the page (no second detection);
- small skew -> box coordinates are rotated by the median angle of the text lines, so that
  rows and columns line up for the layout parser.

Detection, classification and recognition are RapidOCR's own steps (`text_det`, `text_cls`,
`text_rec`), called one by one so that orientation is decided between them. The engine is
created once per process; a lock keeps one recognition at a time (onnxruntime already uses
both cores for one image).
"""

from __future__ import annotations

import math
import threading
import unicodedata
from dataclasses import dataclass, field

from chalicelib.once import once

MAX_SIDE = 1600
DET_SIDE = 736  # RapidOCR's default working size (short side) for detection
DET_NATIVE_FROM = 600  # ... from this short side up, the picture is detected as it is
PARAMS = {"Global.log_level": "error", "Global.use_cls": False}


@dataclass
class Line:
    """One recognised text box, in upright page coordinates."""

    text: str
    confidence: float  # 0-100
    x0: float
    y0: float
    x1: float
    y1: float
    # (word, x0, x1): where the recogniser saw gaps between words (may split glued text)
    words: tuple = field(default=(), compare=False)
    quad: object = field(default=None, compare=False, repr=False)  # corners in the page image

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass
class Page:
    lines: list[Line]
    width: int
    height: int
    rotation: int = 0  # degrees the image was turned (counter-clockwise) to read it
    skew: float = 0.0  # degrees of residual skew taken out of the coordinates
    image: object = field(default=None, repr=False)  # the upright page (numpy) the quads are in

    def reread(self, line: Line, margins=(0.1,)) -> list[str]:
        """The line's box recognised again with other margins (a second look at a value that
        failed its pattern). One recognition per margin."""
        if self.image is None or line.quad is None:
            return []
        return reread(self.image, line.quad, margins)


_run_lock = threading.Lock()


@once
def engine():
    """The process-wide RapidOCR instance (bundled models, no download, quiet logs).

    Its onnxruntime sessions are rebuilt with spin-waiting off: by default onnxruntime's
    worker threads spin between operators, burning CPU that the face match and the other
    verifications running beside an ID read need (measured in `make bench`)."""
    import logging

    from rapidocr import RapidOCR

    ocr = RapidOCR(params=PARAMS)
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    for load in (ocr._load_det_model, ocr._load_cls_model, ocr._load_rec_model):
        _without_spinning(load().session)
    return ocr


def _without_spinning(wrapper) -> None:
    """Replace an OrtInferSession's session by the same model without spin-waiting."""
    import onnxruntime as ort

    old = wrapper.session
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.enable_cpu_mem_arena = False
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    wrapper.session = ort.InferenceSession(old._model_path, options, providers=old.get_providers())


def _scaled(rgb):
    if max(rgb.size) > MAX_SIDE:
        scale = MAX_SIDE / max(rgb.size)
        rgb = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)))
    return rgb


def _detect(eng, arr):
    """Text quads (N, 4, 2) in `arr`'s coordinates, points clockwise from top-left."""
    import numpy as np

    model = eng._load_det_model()
    short = min(arr.shape[:2])
    # small pictures (a 640 x 400 card) are enlarged to the detector's working size; larger
    # ones are detected as they are (enlarging them costs time and finds nothing more)
    model.limit_side_len = DET_SIDE if short < DET_NATIVE_FROM else short
    det = model(arr)
    if det.boxes is None or len(det.boxes) == 0:
        return np.zeros((0, 4, 2), dtype=np.float32)
    return np.asarray(det.boxes, dtype=np.float32)


def _edges(quad):
    import numpy as np

    top = float(np.linalg.norm(quad[1] - quad[0]))
    side = float(np.linalg.norm(quad[3] - quad[0]))
    return top, side


def _vertical_share(quads) -> float:
    """Share of the text (by box length) that runs vertically."""
    vertical = total = 0.0
    for q in quads:
        w, h = _edges(q)
        length = max(w, h)
        total += length
        if h > 1.5 * w:
            vertical += length
    return vertical / total if total else 0.0


# Margin around each text box before recognition, as a share of the box height: the detector's
# boxes are tight, and with a little margin the recogniser keeps the spaces between words
# ("JEFFERY JAMES", not "JEFFERYJAMES") and reads edge characters better.
MARGIN = 0.25


def _crops(arr, quads, margin: float = MARGIN):
    import copy

    import cv2
    from rapidocr.utils.process_img import get_rotate_crop_image

    out = []
    for q in quads:
        crop = get_rotate_crop_image(arr, copy.deepcopy(q))
        pad = max(1, round(margin * min(crop.shape[:2]))) if margin else 0
        if pad:
            crop = cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        out.append(crop)
    return out


def _upside_down(eng, crops, quads) -> bool:
    """The direction classifier's vote over the horizontal boxes, each box weighing its length
    times the classifier's score: upside down when 180 outweighs 0."""
    picks = [i for i, q in enumerate(quads) if _edges(q)[0] >= _edges(q)[1]]
    if not picks:
        return False
    res = eng._load_cls_model()([crops[i] for i in picks])
    votes = {"0": 0.0, "180": 0.0}
    for i, (label, score) in zip(picks, res.cls_res, strict=False):
        votes["180" if "180" in str(label) else "0"] += _edges(quads[i])[0] * float(score)
    return votes["180"] > votes["0"]


def _recognise(eng, crops, quads):
    """[(text, score 0-1, words)] for each crop; words = [(text, quad)]."""
    from rapidocr.ch_ppocr_rec.typings import TextRecInput

    if not crops:
        return []
    rec = eng._load_rec_model()(TextRecInput(img=crops, return_word_box=True))
    words = [()] * len(crops)
    try:
        with_words = eng.calc_word_boxes(crops, quads, rec)
        if len(with_words) == len(crops):
            words = with_words
    except Exception:  # noqa: BLE001, S110 - word boxes are a refinement; the line text stands without them
        pass
    return [(str(t), float(s), w) for t, s, w in zip(rec.txts, rec.scores, words, strict=False)]


def _skew(quads) -> float:
    """Median angle (degrees) of the long horizontal text boxes."""
    import numpy as np

    angles = []
    for q in quads:
        w, h = _edges(q)
        if w > 3 * h:
            dx, dy = q[1] - q[0]
            angles.append(math.degrees(math.atan2(float(dy), float(dx))))
    return float(np.median(angles)) if len(angles) >= 3 else 0.0


def _upright_box(quad, angle, cx, cy):
    """Axis-aligned box of `quad` rotated by -angle about (cx, cy)."""
    if not angle:
        xs, ys = [float(p[0]) for p in quad], [float(p[1]) for p in quad]
        return min(xs), min(ys), max(xs), max(ys)
    a = math.radians(-angle)
    cos, sin = math.cos(a), math.sin(a)
    pts = [((p[0] - cx) * cos - (p[1] - cy) * sin + cx, (p[0] - cx) * sin + (p[1] - cy) * cos + cy) for p in quad]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def read_page(rgb, orient: bool = True) -> Page:
    """OCR a PIL RGB image, turned upright (see the module docstring)."""
    import numpy as np

    img = _scaled(rgb)
    eng = engine()
    rotation = 0
    with _run_lock:
        arr = np.ascontiguousarray(np.asarray(img))
        quads = _detect(eng, arr)
        if orient and len(quads) >= 3 and _vertical_share(quads) > 0.6:
            arr = np.ascontiguousarray(np.rot90(arr))  # counter-clockwise
            rotation = 90
            quads = _detect(eng, arr)
        crops = _crops(arr, quads)
        if orient and len(quads) >= 3 and _upside_down(eng, crops, quads):
            arr = np.ascontiguousarray(arr[::-1, ::-1])
            rotation = (rotation + 180) % 360
            h, w = arr.shape[:2]
            quads = np.stack(
                [np.array([[w - p[0], h - p[1]] for p in q[[2, 3, 0, 1]]], dtype=np.float32) for q in quads]
            )
            crops = _crops(arr, quads)
        results = _recognise(eng, crops, quads)
    h, w = arr.shape[:2]
    angle = _skew(quads)
    if abs(angle) < 0.5:
        angle = 0.0
    lines = []
    for quad, (text, score, words) in zip(quads, results, strict=False):
        # the recogniser's alphabet includes full-width forms (U+FF0C for ","): NFKC folds them
        text = unicodedata.normalize("NFKC", text).strip()
        if not text:
            continue
        x0, y0, x1, y1 = _upright_box(quad, angle, w / 2, h / 2)
        word_spans = []
        for word in words or ():
            wtext, _, wquad = word if len(word) == 3 else (word[0], None, word[-1])
            if wquad is None:
                continue
            wx0, _, wx1, _ = _upright_box(np.asarray(wquad, dtype=np.float32), angle, w / 2, h / 2)
            word_spans.append((unicodedata.normalize("NFKC", str(wtext)), wx0, wx1))
        lines.append(Line(text, score * 100, x0, y0, x1, y1, tuple(word_spans), quad))
    lines.sort(key=lambda b: (b.cy, b.x0))
    return Page(lines, w, h, rotation, angle, arr)


def reread(arr, quad, margins=(0.1,)) -> list[str]:
    from rapidocr.ch_ppocr_rec.typings import TextRecInput

    eng = engine()
    crops = [c for m in margins for c in _crops(arr, [quad], m)]
    with _run_lock:
        rec = eng._load_rec_model()(TextRecInput(img=crops))
    return [unicodedata.normalize("NFKC", str(t)).strip() for t in (rec.txts or ()) if str(t).strip()]


def read_boxes(rgb) -> list[Line]:
    """OCR a PIL RGB image; one Line per detected text box, in reading order."""
    return read_page(rgb).lines


def _overlaps_horizontally(a: Line, b: Line) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 0.5 * min(a.x1 - a.x0, b.x1 - b.x0)


def rows(boxes: list[Line]) -> list[list[Line]]:
    """Group boxes into visual rows, left to right.

    A box joins a row when its vertical centre is within half a box height of the row's and
    it does not overlap any box of the row horizontally (on a slightly rotated photo, the
    next line's box can be close in height but is below, not beside, the row's boxes).
    """
    result: list[list[Line]] = []
    for box in sorted(boxes, key=lambda b: b.cy):
        for row in result:
            ref = row[0]
            if abs(ref.cy - box.cy) < 0.5 * min(ref.height, box.height) and not any(
                _overlaps_horizontally(box, other) for other in row
            ):
                row.append(box)
                break
        else:
            result.append([box])
    for row in result:
        row.sort(key=lambda b: b.x0)
    return result
