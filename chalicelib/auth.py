"""Bearer tokens: RS256 JWTs from the stage's Cognito user pool (or the local stack's).

`verify_token` is used by the built-in Chalice authorizer; `Caller` is what routes
receive, and `require_*` are the object-level checks every route makes itself.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt

from chalicelib.config import ADMIN_GROUP, Settings
from chalicelib.errors import Forbidden, Unauthorized

_jwks_lock = threading.Lock()


@dataclass(frozen=True)
class Caller:
    tenant: str
    email: str
    subject: str
    admin: bool

    def to_context(self) -> dict[str, str]:
        # API Gateway authorizer context values must be strings, numbers or booleans.
        return {"tenant": self.tenant, "email": self.email, "sub": self.subject,
                "admin": "true" if self.admin else "false"}

    @classmethod
    def from_context(cls, context: dict[str, Any] | None) -> "Caller":
        context = context or {}
        tenant, subject = context.get("tenant"), context.get("sub")
        if not tenant or not subject:
            raise Unauthorized("missing or invalid token")
        return cls(tenant=str(tenant), email=str(context.get("email") or ""),
                   subject=str(subject), admin=str(context.get("admin")).lower() == "true")


@lru_cache(maxsize=8)
def _jwk_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


@lru_cache(maxsize=8)
def _inline_jwks(document: str) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_dict(json.loads(document))


def _signing_key(token: str, settings: Settings):
    header = jwt.get_unverified_header(token)
    if header.get("alg") != "RS256":
        raise jwt.InvalidAlgorithmError("only RS256 tokens are accepted")
    kid = header.get("kid")
    if settings.jwks:
        for key in _inline_jwks(settings.jwks).keys:
            if key.key_id == kid:
                return key.key
        raise jwt.InvalidKeyError("unknown signing key")
    if not settings.jwks_url:
        raise jwt.InvalidKeyError("no token issuer configured for this stage")
    with _jwks_lock:
        return _jwk_client(settings.jwks_url).get_signing_key(kid).key


def verify_token(token: str, settings: Settings) -> Caller:
    """Verify signature, expiry, issuer (and audience when configured); raise Unauthorized."""
    try:
        key = _signing_key(token, settings)
        options = {"require": ["exp", "iat", "sub"], "verify_aud": bool(settings.token_audience)}
        claims = jwt.decode(token, key, algorithms=["RS256"], issuer=settings.token_issuer,
                            audience=settings.token_audience, options=options, leeway=30)
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise Unauthorized("missing or invalid token") from exc
    if claims.get("token_use", "id") != "id":
        raise Unauthorized("an ID token is required")
    tenant = claims.get("custom:tenant")
    if not isinstance(tenant, str) or not tenant:
        raise Unauthorized("token has no tenant")
    groups = claims.get("cognito:groups") or []
    if isinstance(groups, str):
        groups = groups.split(",")
    return Caller(tenant=tenant, email=str(claims.get("email") or "").lower(),
                  subject=str(claims["sub"]), admin=ADMIN_GROUP in groups)


def bearer(header_value: str | None) -> str:
    if not header_value:
        raise Unauthorized("missing or invalid token")
    scheme, _, token = header_value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing or invalid token")
    return token.strip()


def require_tenant(caller: Caller, tenant: str) -> None:
    if caller.tenant != tenant:
        raise Forbidden("this token is not valid for that tenant")


def require_record_access(caller: Caller, tenant: str, email: str) -> None:
    """Admins of the tenant reach any of its records; users only their own e-mail."""
    require_tenant(caller, tenant)
    if not caller.admin and (not caller.email or caller.email != email.lower()):
        raise Forbidden("a user may only access records of their own e-mail")


def require_admin(caller: Caller, tenant: str) -> None:
    require_tenant(caller, tenant)
    if not caller.admin:
        raise Forbidden("this action needs the kyc-admin group")
