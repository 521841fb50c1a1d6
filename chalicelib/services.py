"""The stage's services, built from its settings: what the HTTP routes and the event handlers
call instead of constructing stores and clients themselves.

The verification provider is found through a registry: the AWS adapter is built in; the local
stack registers the self-hosted engines (kyc_service.engines), which never ship to Lambda.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.providers.port import ProviderUnavailable, VerificationProvider

if TYPE_CHECKING:
    from chalicelib.storage.records import RecordStore

ProviderFactory = Callable[[], VerificationProvider]
_providers: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make a provider available under the name a stage selects with KYC_PROVIDER."""
    _providers[name] = factory


def provider() -> VerificationProvider:
    """The verification provider the stage selects (KYC_PROVIDER): "aws", or a registered one."""
    name = settings().provider
    if name == "aws":
        from chalicelib.providers.aws import AwsProvider

        return AwsProvider()
    factory = _providers.get(name)
    if factory is None:
        raise ProviderUnavailable(
            f"no verification provider registered as {name!r} (KYC_PROVIDER); "
            "the local stack registers the self-hosted engines"
        )
    return factory()


def store() -> RecordStore:
    """The stage's RecordStore (PynamoDB and botocore imported on first use, clients cached)."""
    from chalicelib.storage.models import tables
    from chalicelib.storage.records import RecordStore

    s = settings()
    return RecordStore(
        tables(),
        s3=aws.client("s3"),
        cognito=aws.client("cognito-idp"),
        bucket=s.bucket,
        user_pool_id=s.user_pool_id,
        max_upload_bytes=s.max_upload_bytes,
    )
