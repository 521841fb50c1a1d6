"""One webhook POST, signed per the Standard Webhooks specification, to the address that was
checked (outbound/urls.py): the TCP connection goes to that IP, TLS verifies the certificate
against the URL's host name (SNI), the Host header names it. Redirects are not followed (a 3xx
is a failed attempt); the answer's body is read at most MAX_ANSWER_BYTES and dropped.

Headers: `webhook-id` (stable per event: the tenant deduplicates on it), `webhook-timestamp`
(this attempt, epoch seconds), `webhook-signature` (`v1,<base64 HMAC-SHA256 of
"id.timestamp.body">` per secret, space-separated: two during a rotation's grace period).
Signing is the `standardwebhooks` package's.
"""

from __future__ import annotations

import datetime as dt
import http.client
import socket
import ssl
from dataclasses import dataclass

from chalicelib.outbound.urls import Target

MAX_ANSWER_BYTES = 16 * 1024
USER_AGENT = "kyc-service-webhooks/1"


@dataclass(frozen=True)
class Attempt:
    """What one POST gave: a status (None when no answer), or the error's class name."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        return f"status {self.status}" if self.status is not None else f"error {self.error}"


def signature_headers(webhook_id: str, body: str, secrets: list[str], when: dt.datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, signed with every secret given."""
    from standardwebhooks.webhooks import Webhook

    timestamp = str(int(when.timestamp()))
    signatures = " ".join(Webhook(secret).sign(webhook_id, when, body) for secret in secrets)
    return {"webhook-id": webhook_id, "webhook-timestamp": timestamp, "webhook-signature": signatures}


def _connect(target: Target, timeout: float) -> http.client.HTTPConnection:
    """A connection to the first checked address that answers (no new DNS lookup)."""
    last: OSError | None = None
    for address in target.addresses:
        try:
            sock = socket.create_connection((address, target.port), timeout=timeout)
        except OSError as exc:
            last = exc
            continue
        conn: http.client.HTTPConnection
        if target.scheme == "https":
            context = ssl.create_default_context()
            try:
                sock = context.wrap_socket(sock, server_hostname=target.host)
            except (OSError, ssl.SSLError):
                sock.close()
                raise
            conn = http.client.HTTPSConnection(target.host, target.port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
        conn.sock = sock  # already connected to the checked address: http.client does not connect again
        return conn
    raise last or OSError("no address to connect to")


def post(target: Target, body: str, headers: dict[str, str], timeout: float) -> Attempt:
    """POST `body` (JSON) to the target; never raises for the endpoint's failures."""
    data = body.encode("utf-8")
    request_headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Content-Length": str(len(data)),
        **headers,
    }
    conn: http.client.HTTPConnection | None = None
    try:
        conn = _connect(target, timeout)
        conn.request("POST", target.path, body=data, headers=request_headers)
        response = conn.getresponse()
        response.read(MAX_ANSWER_BYTES)
        return Attempt(status=response.status)
    except (OSError, http.client.HTTPException, ssl.SSLError, ValueError) as exc:
        return Attempt(status=None, error=type(exc).__name__)
    finally:
        if conn is not None:
            conn.close()
