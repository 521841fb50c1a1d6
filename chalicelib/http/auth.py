"""Bearer tokens: RS256 JWTs from the stage's Cognito user pool (or the local stack's).

Signatures are checked with the pure-Python `rsa` package against the issuer's JWKS, and
claims with PyJWT: the Lambda package needs no `cryptography` (4.5 MB of native code).

`verify_token` is used by the built-in Chalice authorizer; `Caller` is what routes
receive, and `require_*` are the object-level checks every route makes itself.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import rsa
    from jwt.types import Options

# jwt, rsa and urllib.request are imported on the first verification: only the
# authorizer needs them, and `import app` stays cheap for every other function.

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
        return {
            "tenant": self.tenant,
            "email": self.email,
            "sub": self.subject,
            "admin": "true" if self.admin else "false",
        }

    @classmethod
    def from_context(cls, context: dict[str, Any] | None) -> Caller:
        context = context or {}
        tenant, subject = context.get("tenant"), context.get("sub")
        if not tenant or not subject:
            raise Unauthorized("missing or invalid token")
        return cls(
            tenant=str(tenant),
            email=str(context.get("email") or ""),
            subject=str(subject),
            admin=str(context.get("admin")).lower() == "true",
        )


JWKS_REFRESH_S = 60  # an unknown key id refetches the JWKS at most this often (key rotation)
_jwks_cache: dict[str, tuple[float, dict[str, rsa.PublicKey]]] = {}


def _b64url(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def public_keys(document: dict[str, Any]) -> dict[str, rsa.PublicKey]:
    """The RSA signing keys of a JWKS document, by key id."""
    import rsa

    keys = {}
    for jwk in document.get("keys", []):
        if jwk.get("kty") == "RSA" and jwk.get("use", "sig") == "sig" and jwk.get("alg", "RS256") == "RS256":
            keys[jwk.get("kid")] = rsa.PublicKey(
                int.from_bytes(_b64url(jwk["n"]), "big"), int.from_bytes(_b64url(jwk["e"]), "big")
            )
    return keys


def _fetch(url: str) -> dict[str, rsa.PublicKey]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the stage's own issuer, from config
        return public_keys(json.loads(response.read()))


def _signing_key(kid: str | None, settings: Settings) -> rsa.PublicKey:
    import jwt

    if settings.jwks:
        keys = _inline_jwks(settings.jwks)
    elif settings.jwks_url:
        with _jwks_lock:
            fetched, keys = _jwks_cache.get(settings.jwks_url, (0.0, {}))
            if kid not in keys and time.monotonic() - fetched > JWKS_REFRESH_S:
                keys = _fetch(settings.jwks_url)
                _jwks_cache[settings.jwks_url] = (time.monotonic(), keys)
    else:
        raise jwt.InvalidKeyError("no token issuer configured for this stage")
    if kid not in keys:
        raise jwt.InvalidKeyError("unknown signing key")
    return keys[kid]


@lru_cache(maxsize=8)
def _inline_jwks(document: str) -> dict[str, rsa.PublicKey]:
    return public_keys(json.loads(document))


def _verify_signature(token: str, settings: Settings) -> None:
    """RS256 (RSASSA-PKCS1-v1_5 with SHA-256) against the issuer's JWKS; nothing else is accepted."""
    import jwt
    import rsa

    header = jwt.get_unverified_header(token)
    if header.get("alg") != "RS256":
        raise jwt.InvalidAlgorithmError("only RS256 tokens are accepted")
    signing_input, _, signature = token.rpartition(".")
    try:
        method = rsa.verify(
            signing_input.encode("ascii"), _b64url(signature), _signing_key(header.get("kid"), settings)
        )
    except (rsa.VerificationError, ValueError, UnicodeEncodeError):
        raise jwt.InvalidSignatureError("signature verification failed") from None
    if method != "SHA-256":
        raise jwt.InvalidSignatureError("signature is not SHA-256")


def verify_token(token: str, settings: Settings) -> Caller:
    """Verify signature, expiry, issuer and audience; raise Unauthorized.

    The audience (`aud`, the app client a Cognito ID token was issued to) is checked whenever
    KYC_TOKEN_AUDIENCE is set; a deployed stage without it trusts no token, since the pool may have
    other app clients whose tokens must not open this API."""
    import jwt

    if not settings.token_issuer:
        raise Unauthorized("missing or invalid token")  # a stage without an issuer trusts no token
    if settings.deployed and not settings.token_audience:
        raise Unauthorized("missing or invalid token")  # fail closed: no audience configured
    try:
        _verify_signature(token, settings)
        options: Options = {
            "verify_signature": False,  # verified above, with `rsa` (no `cryptography`)
            "verify_exp": True,
            "verify_iat": True,
            "verify_nbf": True,
            "verify_iss": True,
            "verify_aud": bool(settings.token_audience),
            "require": ["exp", "iat", "sub", "iss"],
        }
        claims = jwt.decode(
            token,
            options=options,
            algorithms=["RS256"],
            issuer=settings.token_issuer,
            audience=list(settings.token_audience) or None,
            leeway=30,
        )
    except (jwt.PyJWTError, ValueError, KeyError, TypeError, OSError) as exc:
        raise Unauthorized("missing or invalid token") from exc
    if claims.get("token_use", "id") != "id":
        raise Unauthorized("an ID token is required")
    tenant = claims.get("custom:tenant")
    if not isinstance(tenant, str) or not tenant:
        raise Unauthorized("token has no tenant")
    groups = claims.get("cognito:groups") or []
    if isinstance(groups, str):
        groups = groups.split(",")
    return Caller(tenant=tenant, email=_verified_email(claims), subject=str(claims["sub"]), admin=ADMIN_GROUP in groups)


def _verified_email(claims: dict[str, Any]) -> str:
    """The token's e-mail, normalised as record keys are, only when the pool verified it.

    A user may be able to change their own e-mail attribute; until Cognito has verified the
    new address the token carries email_verified = false, and it opens no record ("" matches none).
    """
    from chalicelib.errors import InvalidInput
    from chalicelib.http.validation import normalise_email

    verified = claims.get("email_verified")
    if verified is not True and str(verified).lower() != "true":
        return ""
    try:
        return normalise_email(claims.get("email"))
    except InvalidInput:
        return ""


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
