"""Face detection and comparison with dlib.

Pipeline per image: decode (EXIF applied, any mode -> RGB, long side <= 800 px) ->
HOG frontal face detector (upsampled once when nothing is found at 1x, for small ID
portraits) -> 5-point landmarks -> 128-d ResNet embedding (dlib_face_recognition_resnet_model_v1).

Only the 5-point landmark model is loaded. The 68-point model of face_recognition_models
is trained on iBUG 300-W, whose licence excludes commercial use; the 5-point model is
trained on dlib's own CC0 data set and is all the ResNet alignment needs.

The distance between two embeddings is mapped to a similarity 0-100 by a monotone
piecewise-linear table calibrated on the face fixtures (see docs/engines.md).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

from chalicelib.once import once
from chalicelib.providers.port import FaceComparison

MAX_SIDE = 800

# (distance, similarity) anchors, distance ascending, similarity strictly descending.
# dlib's reference tolerance 0.6 ("same person" below) sits at the review threshold 80.
# Fixtures: genuine distances <= 0.53 map to >= 95.8; impostors >= 0.61 map to <= 77.
CALIBRATION = (
    (0.00, 100.0),
    (0.45, 98.0),
    (0.56, 95.0),
    (0.60, 80.0),
    (0.70, 50.0),
    (1.00, 10.0),
    (1.50, 0.0),
)


def similarity_from_distance(distance: float) -> float:
    """Monotone (non-increasing) map of an embedding distance to a similarity 0-100."""
    if distance <= CALIBRATION[0][0]:
        return CALIBRATION[0][1]
    for (d0, s0), (d1, s1) in itertools.pairwise(CALIBRATION):
        if distance <= d1:
            return round(s0 + (s1 - s0) * (distance - d0) / (d1 - d0), 2)
    return CALIBRATION[-1][1]


@dataclass
class FaceSet:
    """Faces found in one image: embeddings (largest face first) and count."""

    embeddings: list  # numpy arrays, 128-d
    areas: list
    qualities: list = field(default_factory=list)  # FaceQuality per face (face_quality.py)
    portraits: list = field(default_factory=list)  # Portrait per face (the crop, for the ID's face)

    @property
    def count(self) -> int:
        return len(self.embeddings)


class FaceEngine:
    """dlib models, loaded once. Use `FaceEngine.shared()`.

    The ResNet network object (dlib's `anet_type`, a member of face_recognition_model_v1)
    stores each layer's outputs inside itself during a forward pass, so one network must not
    run on two threads at once. One lock serialises the dlib calls (detection, landmarks,
    embedding); threads still overlap on S3 reads and image decoding. On 2 cores nothing is
    lost: a second concurrent embedding would only compete for the same cores.
    """

    def __init__(self):
        import dlib
        import face_recognition_models as frm

        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self._net = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
        self._lock = threading.Lock()

    @staticmethod
    def shared() -> FaceEngine:
        """The process-wide engine: the models are loaded once."""
        return _shared_engine()

    def faces(self, image_bytes: bytes, portraits: bool = False) -> FaceSet:
        """Detect every face in the image and embed and measure each one (with `portraits`, crop
        each one too: the ID's face kept for audit)."""
        import numpy as np

        from .face_quality import measure, portrait
        from .images import load_rgb

        img = np.asarray(load_rgb(image_bytes, MAX_SIDE))
        with self._lock:
            rects = self._detector(img, 0)
            if len(rects) == 0:
                rects = self._detector(img, 1)
            found = []
            for rect in rects:
                shape = self._shape(img, rect)
                emb = np.asarray(self._net.compute_face_descriptor(img, shape, 0))
                points = [(shape.part(i).x, shape.part(i).y) for i in range(shape.num_parts)]
                found.append((rect.area(), emb, rect, points))
        found.sort(key=lambda item: -item[0])
        return FaceSet(
            [e for _, e, _, _ in found],
            [a for a, _, _, _ in found],
            [measure(img, r, p) for _, _, r, p in found],
            [portrait(img, r) for _, _, r, _ in found] if portraits else [],
        )

    @staticmethod
    def best_distance(source: FaceSet, target: FaceSet) -> float | None:
        """Distance of the source's largest face to its nearest target face."""
        nearest = FaceEngine.nearest(source, target)
        return None if nearest is None else nearest[1]

    @staticmethod
    def nearest(source: FaceSet, target: FaceSet) -> tuple[int, float] | None:
        """(index, distance) of the target face nearest to the source's largest face."""
        import numpy as np

        if not source.count or not target.count:
            return None
        probe = source.embeddings[0]
        distances = [float(np.linalg.norm(probe - t)) for t in target.embeddings]
        index = min(range(len(distances)), key=distances.__getitem__)
        return index, distances[index]

    def compare(self, source_bytes: bytes, target_bytes: bytes) -> FaceComparison:
        """Compare the selfie (source) with the ID portrait (target): the similarity, the selfie's
        quality measurements and the ID face it was compared with (cropped)."""
        source = self.faces(source_bytes)
        target = self.faces(target_bytes, portraits=True)
        nearest = self.nearest(source, target)
        similarity = None if nearest is None else similarity_from_distance(nearest[1])
        return FaceComparison(
            similarity,
            source.count,
            target.count,
            quality=source.qualities[0] if source.count == 1 else None,
            portrait=target.portraits[nearest[0]] if nearest is not None else None,
        )


@once
def _shared_engine() -> FaceEngine:
    return FaceEngine()


def compare(source_bytes: bytes, target_bytes: bytes) -> FaceComparison:
    """Module-level shortcut over the shared engine."""
    return FaceEngine.shared().compare(source_bytes, target_bytes)


def encode_embedding(embedding) -> str:
    """A 128-d embedding as base64 of little-endian float32 (what the face registry stores)."""
    import base64

    import numpy as np

    return base64.b64encode(np.asarray(embedding, dtype="<f4").tobytes()).decode("ascii")


def decode_embedding(text: str):
    import base64

    import numpy as np

    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float64)


def search(probe, stored, threshold: float) -> list:
    """FaceHit per stored face at least `threshold` similar to `probe` (the 1:1 calibration)."""
    import numpy as np

    from chalicelib.providers.port import FaceHit

    hits = []
    for face in stored:
        vector = decode_embedding(face.embedding)
        if vector.shape != (128,):
            continue
        similarity = similarity_from_distance(float(np.linalg.norm(probe - vector)))
        if similarity >= threshold:
            hits.append(FaceHit(face.external_id, similarity))
    return sorted(hits, key=lambda h: -h.similarity)
