"""Structured JSON logs (Powertools Logger). Record keys are hashed; no PII ever
goes into a log line: no e-mails, names, birth dates, ID numbers or images."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.once import once

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger


@once
def logger() -> Logger:
    """The one Powertools Logger (two Loggers on one service race over its handler)."""
    from aws_lambda_powertools import Logger

    return Logger(service="kyc-service")


def ref(*parts: str) -> str:
    """A stable, non-reversible reference to a record for logs (sha256 prefix)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def with_invocation_context(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware: every log line of an invocation carries its request id
    and function name (Powertools' structured keys), never the event itself."""
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    log = logger()
    request_id = getattr(context, "aws_request_id", None)
    if request_id:
        # thread-safe keys: the local server handles requests on threads
        log.thread_safe_append_keys(request_id=request_id, function_name=getattr(context, "function_name", None))
    try:
        return get_response(event)
    finally:
        if request_id:
            log.thread_safe_remove_keys(["request_id", "function_name"])
