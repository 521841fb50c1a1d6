"""API errors in the contract's shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import json
from typing import Any


class ApiError(Exception):
    status = 400
    code = "invalid_input"

    def __init__(self, message: str, details: list[Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


class InvalidInput(ApiError):
    status, code = 400, "invalid_input"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class DecisionFinal(ApiError):
    """The customer's record carries an admin's final rejection: no submission is taken until an
    admin decides again (CONTRACT.md: validate's `final`)."""

    status, code = 409, "decision_final"


class LivenessUnavailable(ApiError):
    """The stage's provider has no liveness engine (the self-hosted one): POST .../liveness."""

    status, code = 400, "liveness_unavailable"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class Throttled(ApiError):
    status, code = 429, "throttled"


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def error_json(code: str, message: str) -> bytes:
    return json.dumps(error_body(code, message)).encode()


class IdempotencyKeyReused(ApiError):
    """The same Idempotency-Key with another request body (create_or_update)."""

    status, code = 409, "idempotency_key_reused"


class IdempotencyKeyInProgress(ApiError):
    """A request with the same Idempotency-Key is still running."""

    status, code = 409, "idempotency_key_in_progress"
