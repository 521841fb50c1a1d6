"""AWS clients, created lazily and cached per (service, endpoint, region).

The local stack and tests point every client at the embedded AWS by setting
KYC_AWS_ENDPOINT; deployed code leaves it unset.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from chalicelib.config import settings

_lock = threading.Lock()


@lru_cache(maxsize=64)
def _client(service: str, endpoint: str | None, region: str) -> Any:
    import boto3  # imported here: `import app` stays cheap
    from botocore.config import Config

    cfg = Config(
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=50,
        signature_version="s3v4" if service == "s3" else None,
    )
    with _lock:  # boto3's default session is not thread-safe while creating clients
        return boto3.session.Session().client(service, endpoint_url=endpoint, region_name=region, config=cfg)


def client(service: str) -> Any:
    """A boto3 client of the stage's AWS (the embedded one when KYC_AWS_ENDPOINT is set)."""
    s = settings()
    return _client(service, s.aws_endpoint, s.region)


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints call this)."""
    _client.cache_clear()


@lru_cache(maxsize=16)
def _account_id(endpoint: str | None, region: str) -> str:
    return str(client("sts").get_caller_identity()["Account"])


def account_id() -> str:
    s = settings()
    return _account_id(s.aws_endpoint, s.region)


def topic_arn() -> str:
    s = settings()
    return f"arn:aws:sns:{s.region}:{account_id()}:{s.topic_name}"


@lru_cache(maxsize=32)
def _queue_url(name: str, endpoint: str | None, region: str) -> str:
    return str(client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def queue_url(name: str) -> str:
    s = settings()
    return _queue_url(name, s.aws_endpoint, s.region)
