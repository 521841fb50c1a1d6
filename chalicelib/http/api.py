"""What the REST routes do. app.py only wires routes to these functions.

Every route checks the caller's tenant and e-mail itself (object-level
authorization), whatever the authorizer already decided.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import Response

from chalicelib import aws, services
from chalicelib.config import settings
from chalicelib.errors import ApiError, NotFound, error_body
from chalicelib.http import idempotency
from chalicelib.http.auth import Caller, bearer, require_admin, require_record_access, require_tenant, verify_token
from chalicelib.http.validation import (
    check_path_echo,
    check_tenant,
    normalise_email,
    parse_json_body,
    parse_manual_decision,
    parse_submission,
    parse_upload_request,
    path_email,
    require_own_uploads,
)
from chalicelib.logs import logger

if TYPE_CHECKING:
    from chalice.app import AuthRequest, AuthResponse, Request

    from chalicelib.storage.models import KycRecordBase

# The record store (PynamoDB, botocore) is imported by the routes that use it, not at
# `import app`: the authorizer and the event handlers' Lambdas start without it.

JSON: dict[str, str | list[str]] = {"Content-Type": "application/json"}
TENANT_METHODS = ["GET", "POST", "PUT", "DELETE"]


def json_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ApiError into the contract's error shape; anything else into a 500 without details."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ApiError as exc:
            return Response(body=exc.body(), status_code=exc.status, headers=JSON)
        except Exception:  # noqa: BLE001 - anything else is a 500 without details, logged with its traceback
            logger().exception("unhandled error in route", extra={"route": view.__name__})
            return Response(
                body=error_body("internal_error", "an internal error occurred"), status_code=500, headers=JSON
            )

    return wrapper


# Errors Chalice itself answers, before any view runs, in its own {"Code", "Message"} shape.
CHALICE_ERRORS = {405: "method_not_allowed", 415: "unsupported_media_type"}


def contract_errors(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice middleware: Chalice's own error responses in the contract's error shape."""
    response = get_response(event)
    body = response.body
    if response.status_code in CHALICE_ERRORS and isinstance(body, dict) and "Code" in body:
        response.body = error_body(CHALICE_ERRORS[response.status_code], str(body.get("Message", "")))
        response.headers = {**response.headers, **JSON}
    return response


def tenant_quota(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice middleware: at most KYC_TENANT_QUOTA authenticated requests per tenant and window
    (KYC_TENANT_QUOTA_WINDOW_S); beyond it 429 `throttled` with Retry-After. 0 turns it off (the
    local stack). The tenant is the verified token's (the authorizer's context): the path's must
    equal it anyway. When the counter cannot be reached, the request is served (and logged)."""
    s = settings()
    tenant = ((event.context or {}).get("authorizer") or {}).get("tenant")
    if s.tenant_quota <= 0 or not isinstance(tenant, str) or not tenant:
        return get_response(event)
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.storage.quota import take

    try:
        usage = take(tenant, s.tenant_quota_window)
    except (BotoCoreError, ClientError) as exc:
        logger().warning("tenant quota not counted", extra={"error": type(exc).__name__})
        return get_response(event)
    if usage.count > s.tenant_quota:
        body = error_body("throttled", f"more than {s.tenant_quota} requests in {s.tenant_quota_window} s")
        return Response(body=body, status_code=429, headers={**JSON, "Retry-After": str(usage.retry_after)})
    return get_response(event)


def authorize(auth_request: AuthRequest) -> AuthResponse:
    """The built-in authorizer: a verified token gets a policy limited to its tenant's paths.

    An invalid token raises Exception("Unauthorized"), which API Gateway answers with 401.
    """
    from chalice.app import AuthResponse, AuthRoute

    try:
        caller = verify_token(bearer(auth_request.token), settings())
        check_tenant(caller.tenant)
    except ApiError:
        raise Exception("Unauthorized") from None
    routes: list[str | AuthRoute] = [AuthRoute(f"/kyc/stage/*/tenant/{caller.tenant}/*", TENANT_METHODS)]
    return AuthResponse(routes=routes, principal_id=caller.subject, context=caller.to_context())


def _public(record: KycRecordBase, caller: Caller) -> dict[str, Any]:
    """The record as the contract returns it (for an admin, links with view_url: http/review.py)."""
    from chalicelib.http.review import public_record

    return public_record(record, caller)


def _caller(request: Request) -> Caller:
    return Caller.from_context((request.context or {}).get("authorizer"))


def _check_stage(stage: str) -> None:
    if stage != settings().stage:
        raise NotFound("no such stage")


def _body(request: Request) -> dict[str, Any]:
    return parse_json_body(request.raw_body, settings())


def create_or_update(request: Request, stage: str, tenant: str) -> Response:
    _check_stage(stage)
    caller = _caller(request)
    require_tenant(caller, check_tenant(tenant))
    body = _body(request)
    # with an Idempotency-Key, the first response is stored and replayed (http/idempotency.py)
    return idempotency.respond(request, tenant, caller, body, lambda: _save(caller, stage, tenant, body))


def _save(caller: Caller, stage: str, tenant: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    from chalicelib.storage.tenants import require_accepted_id_type

    submission = parse_submission(body, stage, tenant, settings())
    require_record_access(caller, tenant, submission.email)
    if not caller.admin:
        require_own_uploads(submission, tenant)
    require_accepted_id_type(tenant, submission.id_type)  # the tenant's accepted_id_types (settings)
    record, created, _changed = services.store().save(tenant, submission)
    return 201 if created else 200, _public(record, caller), submission.email


def get_records(request: Request, stage: str, tenant: str, email: str) -> Response:
    _check_stage(stage)
    caller = _caller(request)
    require_tenant(caller, check_tenant(tenant))
    email = path_email(email)
    require_record_access(caller, tenant, email)
    records = services.store().list_for_email(tenant, email)
    if not records:
        raise NotFound("no records for that e-mail")
    return Response(body={"records": [_public(r, caller) for r in records]}, status_code=200, headers=JSON)


def validate(request: Request, stage: str, tenant: str, email: str) -> Response:
    _check_stage(stage)
    caller = _caller(request)
    require_admin(caller, check_tenant(tenant))
    email = path_email(email)
    decision = parse_manual_decision(_body(request), stage, tenant, email)
    record = services.store().decide_manually(tenant, email, decision, caller.subject)
    return Response(body=_public(record, caller), status_code=200, headers=JSON)


def documents(request: Request, stage: str, tenant: str) -> Response:
    from chalicelib.storage.documents import presigned_upload

    _check_stage(stage)
    caller = _caller(request)
    require_tenant(caller, check_tenant(tenant))
    body = _body(request)
    check_path_echo(body, stage, tenant)
    content_type, kind = parse_upload_request(body)
    owner = normalise_email(body["email"]) if body.get("email") is not None else caller.email
    require_record_access(caller, tenant, owner)  # users upload for themselves; admins for any customer
    s = settings()
    s3 = aws.client("s3")  # (named after its service: kyc_service/infra/calls.py reads the calls made with it)
    upload = presigned_upload(s3, s.bucket, tenant, owner, content_type, kind, s.max_upload_bytes, s.upload_url_ttl)
    return Response(body=upload, status_code=201, headers=JSON)


def mock_license_validator(request: Request) -> dict[str, Any]:
    """The seeds' mock validator (non-production stages only): echoes validation_override."""
    if settings().production:
        raise NotFound("no such route")
    body = _body(request)
    override = body.get("validation_override")
    return {"valid": override if isinstance(override, bool) else True}


def health() -> dict[str, Any]:
    return {"status": "ok", "stage": settings().stage}
