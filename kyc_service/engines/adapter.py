"""`SelfHostedProvider`: the VerificationProvider port over the self-hosted engines.

Reads image bytes from S3 (the stage's document bucket; the embedded AWS locally).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from chalicelib.once import once
from chalicelib.providers.port import FaceComparison, FaceHit, ImageRef, IndexedFace, StoredFace, UnusableInput

from .images import MAX_INPUT_BYTES


class SelfHostedProvider:
    name = "selfhosted"

    @staticmethod
    def shared() -> SelfHostedProvider:
        """One process-wide instance (the engines' models are loaded once anyway)."""
        return _shared_provider()

    def _read(self, ref: ImageRef) -> bytes:
        from botocore.exceptions import ClientError

        from chalicelib.aws import client

        try:
            obj = client("s3").get_object(Bucket=ref.bucket, Key=ref.key)
        except ClientError as exc:
            code = (exc.response.get("Error") or {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound", "NoSuchBucket"):
                raise UnusableInput("document image not found") from exc
            raise
        if int(obj.get("ContentLength") or 0) > MAX_INPUT_BYTES:
            raise UnusableInput("image too large")
        return obj["Body"].read()

    def compare_faces(self, source: ImageRef, target: ImageRef) -> FaceComparison:
        from .faces import FaceEngine

        return FaceEngine.shared().compare(self._read(source), self._read(target))

    # -- the duplicate search: embeddings stored per tenant (chalicelib/storage/faces.py) -------

    def _probe(self, image: ImageRef):
        from .faces import FaceEngine

        found = FaceEngine.shared().faces(self._read(image))
        return found.embeddings[0] if found.count else None

    def index_face(self, tenant: str, image: ImageRef, external_id: str) -> IndexedFace | None:
        """The selfie's largest face as an embedding; the registry stores it under the tenant."""
        from .faces import encode_embedding

        probe = self._probe(image)
        return None if probe is None else IndexedFace(embedding=encode_embedding(probe))

    def search_faces(
        self, tenant: str, image: ImageRef, threshold: float, stored: Callable[[], Iterable[StoredFace]]
    ) -> list[FaceHit]:
        """An exact search: the probe against every stored embedding of the tenant (`stored` reads
        only the tenant's partition), on the 1:1 similarity scale."""
        from .faces import search

        probe = self._probe(image)
        return [] if probe is None else search(probe, stored(), threshold)

    def analyze_id(
        self, front: ImageRef, back: ImageRef | None = None, claim: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """AnalyzeID-shaped reading; with `claim` (the submitted details: first_name,
        middle_name, last_name, date_of_birth, id_value, id_type) also "KycClaim"."""
        from .analyze import analyze

        return analyze(self._read(front), self._read(back) if back else None, claim=claim)


@once
def _shared_provider() -> SelfHostedProvider:
    return SelfHostedProvider()
