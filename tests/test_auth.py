"""Token verification edge cases beyond the API's isolation matrix."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest

from chalicelib.config import settings
from chalicelib.errors import Unauthorized
from chalicelib.http.auth import verify_token
from chalicelib.stage import ROOT
from tests.conftest import ISSUER


@pytest.fixture
def configured(env, issuer):
    env.set(KYC_TOKEN_ISSUER=ISSUER, KYC_JWKS=issuer.jwks())
    env.unset("KYC_TOKEN_AUDIENCE")
    return settings()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_valid_token_gives_the_caller(configured, issuer):
    caller = verify_token(issuer.token(tenant="acme", email="A@Example.com", admin=True), configured)
    assert (caller.tenant, caller.email, caller.admin) == ("acme", "a@example.com", True)


def test_tampered_payload_is_refused(configured, issuer):
    head, payload, sig = issuer.token(tenant="acme").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["custom:tenant"] = "globex"
    with pytest.raises(Unauthorized):
        verify_token(".".join([head, _b64(json.dumps(claims).encode()), sig]), configured)


def test_hs256_with_the_public_key_as_secret_is_refused(configured, issuer):
    """Algorithm confusion: an HMAC token keyed with the published RSA key."""
    import hashlib
    import hmac

    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}).encode())
    body = _b64(json.dumps({"iss": ISSUER, "sub": "x", "custom:tenant": "acme", "exp": 9999999999, "iat": 1}).encode())
    mac = hmac.new(issuer.jwks().encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    forged = f"{head}.{body}.{_b64(mac)}"
    with pytest.raises(Unauthorized):
        verify_token(forged, configured)


@pytest.mark.parametrize("extra", [{"token_use": "access"}, {"iss": "https://evil.example"}])
def test_wrong_claims_are_refused(configured, issuer, extra):
    with pytest.raises(Unauthorized):
        verify_token(issuer.token(**extra), configured)


def test_audience_checked_when_configured(configured, issuer, env):
    env.set(KYC_TOKEN_AUDIENCE="client-2")
    with pytest.raises(Unauthorized):
        verify_token(issuer.token(), settings())
    env.set(KYC_TOKEN_AUDIENCE="client-1")
    assert verify_token(issuer.token(), settings()).tenant == "acme"


def test_no_issuer_configured_trusts_nothing(issuer, env):
    env.unset("KYC_TOKEN_ISSUER")
    env.set(KYC_JWKS=issuer.jwks())
    with pytest.raises(Unauthorized):
        verify_token(issuer.token(), settings())


@pytest.mark.system  # a fresh interpreter without `cryptography`
def test_verification_needs_no_cryptography_package(issuer):
    """Lambda ships without `cryptography`: verification must work with it unimportable."""
    script = f"""
import os, sys
sys.modules["cryptography"] = None  # any import of it now fails
os.environ.update(KYC_TOKEN_ISSUER={ISSUER!r}, KYC_JWKS=sys.argv[1])
from chalicelib.http.auth import verify_token
from chalicelib.config import settings
print(verify_token(sys.argv[2], settings()).tenant)
"""
    result = subprocess.run(
        [sys.executable, "-c", script, issuer.jwks(), issuer.token(tenant="acme")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "acme"


def test_jwks_fetched_from_the_issuer_url(issuer, env):
    """The deployed path: keys come from the issuer's JWKS URL (a real local HTTP server)."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    document = issuer.jwks().encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env.unset("KYC_JWKS")
        env.set(KYC_TOKEN_ISSUER=ISSUER, KYC_JWKS_URL=f"http://127.0.0.1:{server.server_address[1]}/jwks.json")
        assert verify_token(issuer.token(tenant="acme"), settings()).tenant == "acme"
    finally:
        server.shutdown()


@pytest.mark.parametrize("verified", [False, "false", None])
def test_unverified_email_opens_no_record(configured, issuer, verified):
    """A user who changed their e-mail attribute gets a token with email_verified false."""
    from chalicelib.errors import Forbidden
    from chalicelib.http.auth import require_record_access

    extra = {"email_verified": verified} if verified is not None else {}
    token = issuer.token(tenant="acme", email="victim@example.com", **extra)
    if verified is None:  # no claim at all
        import base64 as b

        head, payload, sig = token.split(".")
        claims = json.loads(b.urlsafe_b64decode(payload + "=="))
        claims.pop("email_verified")
        token = issuer.sign(claims)
    caller = verify_token(token, configured)
    assert caller.email == ""
    with pytest.raises(Forbidden):
        require_record_access(caller, "acme", "victim@example.com")


def test_email_claim_normalised_like_record_keys(configured, issuer):
    """IDNA and Unicode forms: the caller's e-mail matches the key the record was stored under."""
    from chalicelib.http.validation import normalise_email

    caller = verify_token(issuer.token(tenant="acme", email="user@xn--bcher-kva.de"), configured)
    assert caller.email == normalise_email("user@bücher.de")


def test_deployed_stage_without_audience_trusts_no_token(configured, issuer, env):
    """A pool's other app clients issue valid ID tokens too: a deployed stage must name its own."""
    env.set(KYC_STAGE="dev")
    env.unset("KYC_AWS_ENDPOINT")
    with pytest.raises(Unauthorized):
        verify_token(issuer.token(), settings())
    env.set(KYC_TOKEN_AUDIENCE="app-client, client-1")  # the app and the console clients
    assert verify_token(issuer.token(), settings()).tenant == "acme"
    env.set(KYC_TOKEN_AUDIENCE="app-client,console-client")
    with pytest.raises(Unauthorized):
        verify_token(issuer.token(), settings())
