"""Which webhook URLs the service calls (server-side request forgery rules).

A deployed stage accepts only `https://` URLs whose host resolves to public addresses only: no
private, loopback, link-local, multicast, reserved or shared (CGNAT) address, IPv4-mapped
IPv6 included. No user info, no fragment, at most 2048 characters. The host is resolved when the
URL is registered and again at every delivery; the delivery connects to an address checked in
that same step (outbound/delivery.py), so a name that resolves to something else afterwards
(DNS rebinding) reaches nothing new. The local stage also accepts `http://127.0.0.1:<port>/...`
(`KYC_WEBHOOK_ALLOW_LOOPBACK`, never on a production stage).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
LOOPBACK_HOST = "127.0.0.1"

Resolver = Callable[[str, int], list[str]]


class UrlRefused(Exception):
    """A URL the service will not call; `problem` names why (in the 400's details)."""

    def __init__(self, problem: str, message: str):
        super().__init__(message)
        self.problem = problem
        self.message = message


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`, in order) and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (TCP), in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def is_public(address: str) -> bool:
    """True for a globally routable unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            return is_public(str(mapped))
    return bool(
        ip.is_global
        and not (
            ip.is_multicast
            or ip.is_private
            or ip.is_loopback
            or ip.is_link_local
            or ip.is_reserved
            or ip.is_unspecified
        )
    )


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def check_url(url: object, allow_loopback_http: bool = False, resolver: Resolver | None = None) -> Target:
    """The URL as a Target, or UrlRefused. `resolver`: `resolve` (the system's DNS) by default."""
    if not isinstance(url, str) or not url.strip():
        raise UrlRefused("missing", "url is required")
    if len(url) > MAX_URL_LENGTH or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise UrlRefused("invalid", f"url must be at most {MAX_URL_LENGTH} characters without spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("invalid", "url is not a valid URL") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise UrlRefused("invalid", "url must not hold user info or a fragment")
    if not host:
        raise UrlRefused("invalid", "url has no host")
    loopback = allow_loopback_http and scheme == "http" and host == LOOPBACK_HOST
    if scheme != "https" and not loopback:
        raise UrlRefused(
            "scheme",
            "url must be https" + (" (or http://127.0.0.1:<port>/ on the local stage)" if allow_loopback_http else ""),
        )
    port = port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if loopback:
        return Target(url, scheme, host, port, path, (LOOPBACK_HOST,))
    literal = _literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = (resolver or resolve)(host, port)
        except (OSError, UnicodeError):
            raise UrlRefused("unresolvable", "the url's host does not resolve") from None
        if not addresses:
            raise UrlRefused("unresolvable", "the url's host does not resolve")
    if not all(is_public(a) for a in addresses):
        raise UrlRefused(
            "not_public",
            "the url's host must resolve to public addresses only (no private, loopback or link-local address)",
        )
    return Target(url, scheme, host, port, path, tuple(addresses))
