"""Presigned uploads of document images into the tenant's prefix of the stage's bucket."""
from __future__ import annotations

import uuid
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.http.validation import LINK_KINDS
from chalicelib.keys import uploads_prefix
from chalicelib.storage.records import ALLOWED_CONTENT_TYPES


def parse_upload_request(body: dict[str, Any]) -> tuple[str, str | None]:
    unknown = sorted(set(body) - {"content_type", "kind", "filename", "stage", "tenant", "email"})
    if unknown:
        raise InvalidInput("unknown fields: " + ", ".join(unknown),
                           [{"field": k, "problem": "unknown"} for k in unknown])
    content_type = body.get("content_type")
    if not isinstance(content_type, str) or content_type not in ALLOWED_CONTENT_TYPES:
        raise InvalidInput("content_type must be image/jpeg or image/png",
                           [{"field": "content_type", "problem": "invalid"}])
    kind = body.get("kind")
    if kind is not None and (not isinstance(kind, str) or kind not in LINK_KINDS):
        raise InvalidInput("kind must be one of " + ", ".join(LINK_KINDS),
                           [{"field": "kind", "problem": "invalid"}])
    return content_type, kind


def presigned_upload(s3, bucket: str, tenant: str, owner_email: str, content_type: str, kind: str | None,
                     max_bytes: int, expires_in: int) -> dict[str, Any]:
    """A presigned POST: S3 itself enforces the content type and the size cap. The key lies
    under the customer's own uploads prefix, the only place their records may link."""
    key = (f"{uploads_prefix(tenant, owner_email)}{kind or 'document'}/"
           f"{uuid.uuid4().hex}{ALLOWED_CONTENT_TYPES[content_type]}")
    post = s3.generate_presigned_post(
        Bucket=bucket, Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires_in)
    return {"key": key, "upload": {"method": "POST", "url": post["url"], "fields": post["fields"]},
            "content_type": content_type, "max_bytes": max_bytes, "expires_in": expires_in}
