"""The review console (GET /console): a page, a style sheet and a script served by the service
itself (chalicelib/console/), and the page's sign-in settings (GET /console/config.json).

The page holds no data: it calls the REST routes with the admin's bearer token, taken from the
URL fragment (`/console#token=<JWT>`) or, on a deployed stage, from a sign-in with the stage's
user pool (OAuth 2.0 authorization code with PKCE, through the pool's Cognito domain and the
`{stage}-kyc-console` app client that infra/resources.yaml defines). Every URL the page uses is
relative, since a deployed API lives under its stage path (`/api/console`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from chalice.app import Response

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.errors import NotFound
from chalicelib.logs import logger
from chalicelib.stage import resource_names

ASSETS_DIR = Path(__file__).resolve().parent.parent / "console"
ASSETS = {"console.js": "text/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8"}
SCOPES = "openid email profile"


def _security_headers(content_type: str) -> dict[str, str | list[str]]:
    s = settings()
    images = "'self' https:" + (f" {s.aws_endpoint}" if s.aws_endpoint else "")  # presigned GETs of the bucket
    sign_in = sign_in_config()
    connect = "'self'" + (f" {sign_in['origin']}" if sign_in else "")
    policy = (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; "
        f"connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Type": content_type,
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


@lru_cache(maxsize=4)
def _read(name: str) -> str:
    return (ASSETS_DIR / name).read_text(encoding="utf-8")


def page() -> Response:
    """GET /console: the page (no authorizer: it holds no data)."""
    return Response(body=_read("index.html"), status_code=200, headers=_security_headers("text/html; charset=utf-8"))


def asset(name: str) -> Response:
    """GET /console/{name}: the script, the style sheet, or the sign-in settings."""
    if name == "config.json":
        sign_in = sign_in_config()
        body: Any = {
            "stage": settings().stage,
            "sign_in": {k: v for k, v in sign_in.items() if k != "origin"} if sign_in else None,
        }
        return Response(body=body, status_code=200, headers=_security_headers("application/json"))
    if name not in ASSETS:
        raise NotFound("no such console file")
    return Response(body=_read(name), status_code=200, headers=_security_headers(ASSETS[name]))


def sign_in_config() -> dict[str, str] | None:
    """Where the console signs in on a deployed stage: the user pool's Cognito domain and the
    console's app client, found by name in the stage's pool (None locally, or when the pool has
    neither: the page then takes a token from its URL fragment only)."""
    s = settings()
    if s.is_local or not s.user_pool_id:
        return None
    found = _discover(s.user_pool_id, resource_names(s.stage).console_client, s.region)
    if found is None:
        return None
    client_id, base = found
    return {
        "client_id": client_id,
        "authorize_url": f"{base}/oauth2/authorize",
        "token_url": f"{base}/oauth2/token",
        "logout_url": f"{base}/logout",
        "scope": SCOPES,
        "origin": base,
    }


@lru_cache(maxsize=4)
def _discover(pool_id: str, client_name: str, region: str) -> tuple[str, str] | None:
    """(client id, https://domain) of the console's sign-in, once per cold start."""
    idp = aws.client("cognito-idp")
    try:
        pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
        clients = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    except Exception as exc:  # noqa: BLE001 - no pool or no permission: the console takes fragment tokens only
        logger().warning("console sign-in unavailable", extra={"error": type(exc).__name__})
        return None
    client = next((c["ClientId"] for c in clients if c.get("ClientName") == client_name), None)
    domain = pool.get("CustomDomain") or (
        f"{pool['Domain']}.auth.{region}.amazoncognito.com" if pool.get("Domain") else None
    )
    if not client or not domain:
        return None
    return str(client), f"https://{domain}"
