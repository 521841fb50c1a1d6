"""The stage's services, built from its settings: what the HTTP routes and the event handlers
call instead of constructing stores and clients themselves.

The verification provider joins this module when the provider registry lands (phase B of
issue 12); until then chalicelib.providers.get_provider finds it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import aws
from chalicelib.config import settings

if TYPE_CHECKING:
    from chalicelib.storage.records import RecordStore


def store() -> RecordStore:
    """The stage's RecordStore (PynamoDB and botocore imported on first use, clients cached)."""
    from chalicelib.storage.models import tables
    from chalicelib.storage.records import RecordStore

    s = settings()
    return RecordStore(tables(), s3=aws.client("s3"), cognito=aws.client("cognito-idp"),
                       bucket=s.bucket, user_pool_id=s.user_pool_id,
                       max_upload_bytes=s.max_upload_bytes)
