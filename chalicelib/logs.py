"""Structured JSON logs (Powertools Logger). Record keys are hashed; no PII ever
goes into a log line: no e-mails, names, birth dates, ID numbers or images."""
from __future__ import annotations

import hashlib
from functools import lru_cache


@lru_cache(maxsize=1)
def logger():
    from aws_lambda_powertools import Logger

    return Logger(service="kyc-service")


def ref(*parts: str) -> str:
    """A stable, non-reversible reference to a record for logs (sha256 prefix)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
