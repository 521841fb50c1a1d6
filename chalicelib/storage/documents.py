"""Presigned uploads of document images into the tenant's prefix of the stage's bucket."""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.domain.submission import ALLOWED_CONTENT_TYPES
from chalicelib.keys import tenant_owns_key, uploads_prefix

VIEW_URL_MAX_TTL = 300  # seconds a view_url is valid at most (CONTRACT.md: review routes)


def presigned_upload(
    s3: Any,
    bucket: str,
    tenant: str,
    owner_email: str,
    content_type: str,
    kind: str | None,
    max_bytes: int,
    expires_in: int,
) -> dict[str, Any]:
    """A presigned POST: S3 itself enforces the content type and the size cap. The key lies
    under the customer's own uploads prefix, the only place their records may link."""
    key = (
        f"{uploads_prefix(tenant, owner_email)}{kind or 'document'}/"
        f"{uuid.uuid4().hex}{ALLOWED_CONTENT_TYPES[content_type]}"
    )
    post = s3.generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires_in,
    )
    return {
        "key": key,
        "upload": {"method": "POST", "url": post["url"], "fields": post["fields"]},
        "content_type": content_type,
        "max_bytes": max_bytes,
        "expires_in": expires_in,
    }


def evidence_target(link: dict[str, Any]) -> str | None:
    """The key of the bytes a link's decision was made on: the pinned evidence copy where the save
    pinned one (`evidence_key`: named by its SHA-256, so it never changes), else the link's own key."""
    key = link.get("evidence_key") or link.get("key")
    return str(key) if key else None


def view_url(s3: Any, bucket: str, tenant: str, link: dict[str, Any], expires_in: int = VIEW_URL_MAX_TTL) -> str | None:
    """A presigned GET (at most 300 s) of a link's evidence, for an admin of `tenant`; None for
    an object outside the tenant's prefix (never another tenant's bytes)."""
    key = evidence_target(link)
    if not key or not tenant_owns_key(tenant, key):
        return None
    url: str = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=max(1, min(expires_in, VIEW_URL_MAX_TTL))
    )
    return url
