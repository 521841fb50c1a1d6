"""Text recognition with RapidOCR (PP-OCR ONNX models shipped inside the rapidocr wheel).

`read_lines(image)` returns `Line`s (text, confidence 0-100, box) grouped into visual rows.
The engine is created once per process; RapidOCR guards its own model sessions with locks,
and a further lock here keeps one recognition at a time (onnxruntime already uses both cores).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from chalicelib.once import once

MAX_SIDE = 1600
# Bundled PP-OCR det/rec models (model_root_dir defaults to the wheel's models/ folder).
# The 180-degree text-direction classifier is skipped: images are EXIF-rotated first and
# ID cards are read upright; it costs time on every box for no gain here.
PARAMS = {"Global.log_level": "error", "Global.use_cls": False}


@dataclass
class Line:
    text: str
    confidence: float  # 0-100
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


_run_lock = threading.Lock()


@once
def engine():
    """The process-wide RapidOCR instance (bundled models, no download, quiet logs)."""
    import logging
    from rapidocr import RapidOCR

    ocr = RapidOCR(params=PARAMS)
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    return ocr


def read_boxes(rgb) -> list[Line]:
    """OCR a PIL RGB image; one Line per detected text box, in reading order."""
    import numpy as np

    img = rgb
    if max(img.size) > MAX_SIDE:
        scale = MAX_SIDE / max(img.size)
        img = img.resize((round(img.width * scale), round(img.height * scale)))
    with _run_lock:
        out = engine()(np.asarray(img))
    boxes = []
    if out is None or out.txts is None:
        return boxes
    for text, score, box in zip(out.txts, out.scores, out.boxes):
        xs = [p[0] for p in box]
        ys = [p[1] for p in box]
        boxes.append(Line(str(text).strip(), float(score) * 100, min(xs), min(ys), max(xs), max(ys)))
    boxes.sort(key=lambda b: (b.cy, b.x0))
    return [b for b in boxes if b.text]


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
            if abs(ref.cy - box.cy) < 0.5 * min(ref.height, box.height) and \
                    not any(_overlaps_horizontally(box, other) for other in row):
                row.append(box)
                break
        else:
            result.append([box])
    for row in result:
        row.sort(key=lambda b: b.x0)
    return result
