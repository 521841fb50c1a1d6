"""The tenant integration routes (admins of the tenant; CONTRACT.md, docs/integrations.md):

- `GET/PUT .../settings`: the tenant's rules, each one the tenant's or the stage's default;
- `PUT/GET/DELETE .../webhooks`, `POST .../webhooks/rotate`: the tenant's webhook; its signing
  secret appears only in the answers of PUT and rotate.

Every route checks the caller itself: a token of another tenant gets 403, a user (not
kyc-admin) gets 403, whatever the authorizer let through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Response

from chalicelib.config import settings
from chalicelib.domain.tenant_rules import TenantRules, parse_overrides
from chalicelib.errors import InvalidInput, NotFound
from chalicelib.http.auth import Caller, require_admin
from chalicelib.http.validation import check_path_echo, check_tenant, parse_json_body

if TYPE_CHECKING:
    from chalice.app import Request

JSON: dict[str, str | list[str]] = {"Content-Type": "application/json"}


def _admin(request: Request, stage: str, tenant: str) -> Caller:
    if stage != settings().stage:
        raise NotFound("no such stage")
    caller = Caller.from_context((request.context or {}).get("authorizer"))
    require_admin(caller, check_tenant(tenant))
    return caller


def _body(request: Request, stage: str, tenant: str, optional: bool = False) -> dict[str, Any]:
    raw = request.raw_body
    if optional and not (raw or b"").strip():
        return {}
    body = parse_json_body(raw, settings())
    check_path_echo(body, stage, tenant)
    return body


def _answer(body: dict[str, Any], status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers=JSON)


# -- settings -----------------------------------------------------------------------------


def _settings_view(tenant: str, rules: TenantRules) -> dict[str, Any]:
    from chalicelib.storage.tenants import stage_policy

    return {
        "tenant": tenant,
        "settings": {k: rules.values[k] for k in rules.values},
        "defaults": rules.defaults,
        "bounds": stage_policy().bounds(),
    }


def get_settings(request: Request, stage: str, tenant: str) -> Response:
    from chalicelib.storage.tenants import tenant_rules

    _admin(request, stage, tenant)
    return _answer(_settings_view(tenant, tenant_rules(tenant)))


def put_settings(request: Request, stage: str, tenant: str) -> Response:
    from chalicelib.storage.tenants import save_overrides, stage_policy

    _admin(request, stage, tenant)
    overrides, problems = parse_overrides(_body(request, stage, tenant), stage_policy())
    if problems:
        raise InvalidInput(
            "; ".join(p.message for p in problems), [{"field": p.field, "problem": p.problem} for p in problems]
        )
    return _answer(_settings_view(tenant, save_overrides(tenant, overrides)))


# -- webhooks -----------------------------------------------------------------------------


def _webhook_request(body: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    from chalicelib.outbound.urls import UrlRefused, check_url
    from chalicelib.storage.webhooks import KNOWN_EVENTS

    unknown = sorted(set(body) - {"url", "events", "stage", "tenant"})
    if unknown:
        raise InvalidInput(
            "unknown fields: " + ", ".join(unknown), [{"field": k, "problem": "unknown"} for k in unknown]
        )
    try:
        target = check_url(body.get("url"), allow_loopback_http=settings().integrations.allow_loopback_http)
    except UrlRefused as exc:
        raise InvalidInput(exc.message, [{"field": "url", "problem": exc.problem}]) from None
    events = body.get("events", list(KNOWN_EVENTS))
    if (
        not isinstance(events, list)
        or not events
        or any(e not in KNOWN_EVENTS for e in events)
        or len(set(events)) != len(events)
    ):
        raise InvalidInput(
            "events must be a non-empty list of distinct events among: " + ", ".join(KNOWN_EVENTS),
            [{"field": "events", "problem": "invalid"}],
        )
    return target.url, tuple(e for e in KNOWN_EVENTS if e in events)


def put_webhook(request: Request, stage: str, tenant: str) -> Response:
    from chalicelib.storage import webhooks

    _admin(request, stage, tenant)
    url, events = _webhook_request(_body(request, stage, tenant))
    hook, secret, created = webhooks.register(tenant, url, events)
    return _answer({**hook.public(), "secret": secret}, 201 if created else 200)


def get_webhook(request: Request, stage: str, tenant: str) -> Response:
    from chalicelib.storage import webhooks

    _admin(request, stage, tenant)
    hook = webhooks.get(tenant)
    if hook is None:
        raise NotFound("this tenant has no webhook")
    return _answer(hook.public())


def delete_webhook(request: Request, stage: str, tenant: str) -> Response:
    from chalicelib.storage import webhooks

    _admin(request, stage, tenant)
    _body(request, stage, tenant, optional=True)
    if not webhooks.remove(tenant):
        raise NotFound("this tenant has no webhook")
    return _answer({"deleted": True})


def rotate_webhook(request: Request, stage: str, tenant: str) -> Response:
    from chalicelib.storage import webhooks

    _admin(request, stage, tenant)
    unknown = sorted(set(_body(request, stage, tenant, optional=True)) - {"stage", "tenant"})
    if unknown:
        raise InvalidInput(
            "rotate takes no fields: " + ", ".join(unknown), [{"field": k, "problem": "unknown"} for k in unknown]
        )
    rotated = webhooks.rotate(tenant)
    if rotated is None:
        raise NotFound("this tenant has no webhook")
    hook, secret = rotated
    return _answer({**hook.public(), "secret": secret})
