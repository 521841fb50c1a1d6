"""Presigned uploads of document images into the tenant's prefix of the stage's bucket."""
from __future__ import annotations

import uuid
from typing import Any

from chalicelib.domain.submission import ALLOWED_CONTENT_TYPES
from chalicelib.keys import uploads_prefix


def presigned_upload(s3: Any, bucket: str, tenant: str, owner_email: str, content_type: str, kind: str | None,
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
