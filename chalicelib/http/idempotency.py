"""`Idempotency-Key` on create_or_update (CONTRACT.md, tenant integrations), with Powertools'
idempotency utility.

Scope: the tenant and the caller (the token's subject): one caller's key never replays another
caller's response, nor another tenant's. The same key with the same JSON body (compared as
parsed JSON) within the stage's TTL (24 h) returns the first response again, status and body,
with the header `Idempotent-Replayed: true`, and changes nothing; the same key with another body
is a 409 `idempotency_key_reused`; while the first request still runs, a 409
`idempotency_key_in_progress`. A request that failed (any 4xx or 5xx) stores nothing: the key
can be used again. Storage: chalicelib/storage/idempotency.py (erased with the customer).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalice.app import Response

from chalicelib.config import settings
from chalicelib.errors import ApiError, IdempotencyKeyInProgress, IdempotencyKeyReused, InvalidInput

if TYPE_CHECKING:
    from chalice.app import Request

    from chalicelib.http.auth import Caller

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}\Z")  # printable ASCII, no spaces, 1-255 characters
JSON: dict[str, str | list[str]] = {"Content-Type": "application/json"}

# What a create_or_update run answers: (status, body, the customer's e-mail).
Outcome = tuple[int, dict[str, Any], str]


def idempotency_key(request: Request) -> str | None:
    raw: Any = request.headers.get(HEADER) if request.headers is not None else None
    if raw is None:
        return None
    value = str(raw).strip()
    if not KEY_RE.match(value):
        raise InvalidInput(
            "Idempotency-Key must be 1-255 printable ASCII characters without spaces",
            [{"field": "Idempotency-Key", "problem": "invalid"}],
        )
    return value


def _mark_replay(response: Any, idempotent_data: Any) -> Any:
    """Powertools' response hook: called only when a stored response is returned."""
    return {**response, "replayed": True}


@lru_cache(maxsize=256)
def _idempotent(tenant: str, table: str, endpoint: str | None, region: str, ttl: int) -> tuple[Any, Any]:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    from chalicelib.storage.idempotency import CUSTOMER_FIELD, persistence_layer

    config = IdempotencyConfig(
        event_key_jmespath="[tenant, caller, key]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=ttl,
        response_hook=_mark_replay,
    )

    def create_or_update(request_data: dict[str, Any], run: Callable[[], Outcome]) -> dict[str, Any]:
        status, body, customer = run()
        return {"status": status, "body": body, CUSTOMER_FIELD: customer}

    wrapped = idempotent_function(
        create_or_update,
        data_keyword_argument="request_data",
        persistence_store=persistence_layer(tenant),
        config=config,
        key_prefix="create_or_update",
    )
    return wrapped, config


def respond(
    request: Request, tenant: str, caller: Caller, body: dict[str, Any], run: Callable[[], Outcome]
) -> Response:
    """Run create_or_update once per Idempotency-Key (or every time without one)."""
    key = idempotency_key(request)
    if key is None:
        status, answer, _customer = run()
        return Response(body=answer, status_code=status, headers=JSON)
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    s = settings()
    call, config = _idempotent(tenant, s.events_table_name, s.aws_endpoint, s.region, s.integrations.idempotency_ttl)
    context = getattr(request, "lambda_context", None)
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)  # an interrupted request's lock ends with its invocation
    try:
        result = call(request_data={"tenant": tenant, "caller": caller.subject, "key": key, "body": body}, run=run)
    except IdempotencyValidationError:
        raise IdempotencyKeyReused("this Idempotency-Key was used with another request body") from None
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyKeyInProgress("a request with this Idempotency-Key is still running; retry") from None
    except ApiError:
        raise
    headers = dict(JSON)
    headers[REPLAYED_HEADER] = "true" if result.get("replayed") else "false"
    return Response(body=result["body"], status_code=int(result["status"]), headers=headers)
