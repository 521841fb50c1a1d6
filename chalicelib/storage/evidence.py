"""Pinned evidence: what the verifier checks and what an admin later sees are the same bytes.

At save, every linked object is read once (within the upload cap), checked (content type, size,
the image header's caps), hashed, and written by the service to a content-addressed key,
`evidence/{documents|biometric}/{tenant}/{owner}/{sha256}.png|.jpg` (chalicelib/keys.py), where no
customer can write: presigned POSTs only ever allow one key under `uploads/`. The bytes written
are the very bytes hashed (S3 checks them against the SHA-256 sent with the PUT, and keeps it
as the object's checksum), so the key names its content, and posting the same upload form again
later changes the upload, never the evidence. The stored link keeps the customer's `key` and
gains `evidence_key` and `sha256`; the verifier reads `evidence_key`.

Uploads expire after a day (infra/resources.yaml); a link whose upload is gone is read from the
evidence the current record already pinned for it, so saving the same content again still works.
Evidence expires by its retention class (docs/privacy.md); each new submission that links an
existing evidence object rewrites it, which restarts its retention.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.images import measure
from chalicelib.domain.submission import ALLOWED_CONTENT_TYPES
from chalicelib.errors import InvalidInput
from chalicelib.keys import evidence_key

MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "403", "AccessDenied"})


@dataclass(frozen=True)
class Pinned:
    """One linked document as checked and pinned."""

    kind: str
    key: str  # what the link named (an upload, or a bundle's copy)
    evidence_key: str  # the pinned bytes
    sha256: str
    content_type: str
    size: int
    existed: bool  # the evidence object was already there (the same bytes pinned before)

    def link(self, filename: str | None) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "filename": filename,
            "evidence_key": self.evidence_key,
            "sha256": self.sha256,
        }


def _refuse(field: str, problem: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field} {message}", [{"field": field, "problem": problem}])


def _error_code(exc: Exception) -> str | None:
    return str((getattr(exc, "response", None) or {}).get("Error", {}).get("Code")) or None


class EvidencePinner:
    """Reads, checks and pins the linked documents of one save (one object in memory at a time)."""

    def __init__(self, s3: Any, bucket: str, max_bytes: int):
        self.s3, self.bucket, self.max_bytes = s3, bucket, max_bytes

    def _get(self, key: str) -> dict[str, Any] | None:
        try:
            obj: dict[str, Any] = self.s3.get_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.ClientError as exc:
            if _error_code(exc) in MISSING_CODES:
                return None
            raise
        return obj

    def _exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except self.s3.exceptions.ClientError as exc:
            if _error_code(exc) in MISSING_CODES:
                return False
            raise

    def _read(self, obj: dict[str, Any], field: str) -> tuple[bytes, str]:
        body = obj["Body"]
        try:
            if int(obj.get("ContentLength") or 0) > self.max_bytes:
                raise _refuse(field, "too_large", f"is larger than {self.max_bytes} bytes")
            content_type = obj.get("ContentType")
            if content_type not in ALLOWED_CONTENT_TYPES:
                raise _refuse(field, "content_type", "is not a JPEG or PNG image")
            data: bytes = body.read(self.max_bytes + 1)
        finally:
            body.close()
        if len(data) > self.max_bytes:
            raise _refuse(field, "too_large", f"is larger than {self.max_bytes} bytes")
        return data, str(content_type)

    def pin(
        self, tenant: str, email: str, index: int, link: dict[str, Any], pinned_before: dict[tuple[str, str], str]
    ) -> Pinned:
        """Check and pin document_links[index]. `pinned_before`: (kind, key) -> evidence_key of the
        record as stored, read when the upload itself has expired."""
        field = f"document_links[{index}]"
        kind, key = str(link["kind"]), str(link["key"])
        obj = self._get(key)
        if obj is None and (kind, key) in pinned_before:
            obj = self._get(pinned_before[(kind, key)])
        if obj is None:
            raise _refuse(field, "not_uploaded", "has not been uploaded")
        data, content_type = self._read(obj, field)
        info = measure(data)
        problem = info.problem() if info is not None else None
        if problem is not None:
            raise _refuse(field, "image_too_large", f"is refused: {problem}")
        digest = hashlib.sha256(data)
        target = evidence_key(tenant, email, kind, digest.hexdigest(), ALLOWED_CONTENT_TYPES[content_type])
        existed = self._exists(target)
        if not existed:
            self._put(target, data, content_type, digest)
        return Pinned(kind, key, target, digest.hexdigest(), content_type, len(data), existed)

    def _put(self, target: str, data: bytes, content_type: str, digest: Any) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=target,
            Body=data,
            ContentType=content_type,
            ChecksumSHA256=base64.b64encode(digest.digest()).decode("ascii"),
        )

    def refresh(self, pinned: list[Pinned]) -> None:
        """A new submission links evidence pinned before: copy each object onto itself, which
        restarts its retention (lifecycle rules count from the object's last write)."""
        for item in pinned:
            if item.existed:
                self.s3.copy_object(
                    Bucket=self.bucket,
                    Key=item.evidence_key,
                    MetadataDirective="REPLACE",
                    ContentType=item.content_type,
                    CopySource={"Bucket": self.bucket, "Key": item.evidence_key},
                    Metadata={"sha256": item.sha256},
                    ChecksumAlgorithm="SHA256",
                )
