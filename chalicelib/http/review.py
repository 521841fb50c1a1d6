"""The review routes (admins of the tenant): the queue, a customer's audit trail, and the
records as an admin sees them (each link with a `view_url` of its evidence).

Every route checks the stage, the caller's tenant and the admin group itself. The queue's
`next` token is opaque to callers but checked here: it names the tenant and the status it was
issued for, and a token of another tenant, another status or no token at all is a 400 (never
a read of another tenant's partition).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from chalice.app import Response

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.errors import InvalidInput, NotFound
from chalicelib.http.auth import Caller, require_admin
from chalicelib.http.validation import check_tenant, normalise_email
from chalicelib.keys import bundle_email

if TYPE_CHECKING:
    from chalice.app import Request

    from chalicelib.storage.models import KycRecordBase
    from chalicelib.storage.queue import Position

JSON: dict[str, str | list[str]] = {"Content-Type": "application/json"}
DEFAULT_LIMIT, MAX_LIMIT = 50, 100
QUERY_PARAMS = {"status", "limit", "next"}
TOKEN_VERSION = 1
MAX_TOKEN_CHARS = 2048
_LIMIT_RE = re.compile(r"^[0-9]{1,4}\Z")


def public_record(record: KycRecordBase, caller: Caller) -> dict[str, Any]:
    """The record as the contract returns it; for an admin of its tenant each link also has
    `view_url`, a presigned GET (at most 300 s) of exactly the bytes that were verified, and the
    duplicate check names the matched records (`checks.duplicate.records`); a customer sees only
    `passed` and `matches` of it."""
    from chalicelib.storage.documents import view_url
    from chalicelib.storage.records import to_public

    data = to_public(record)
    admin = caller.admin and caller.tenant == record.tenant
    duplicate = data["checks"].get("duplicate")
    if isinstance(duplicate, dict):  # a customer never sees whom they matched; an admin does
        from chalicelib.storage.duplicates import public_duplicate, resolve_matches

        shown = public_duplicate(duplicate)
        if admin:
            shown["records"] = resolve_matches(record, duplicate)
        data["checks"]["duplicate"] = shown
    if admin:
        s3, bucket = aws.client("s3"), settings().bucket
        for link in data["document_links"]:
            url = view_url(s3, bucket, record.tenant, link)
            if url:
                link["view_url"] = url
    return data


# -- the queue's page token ------------------------------------------------------------------


def _bad_token() -> InvalidInput:
    return InvalidInput(
        "next is not a page token of this query (use the `next` of the previous page)",
        [{"field": "next", "problem": "invalid"}],
    )


def encode_token(tenant: str, status: str | None, position: Position) -> str:
    raw = json.dumps(
        {"v": TOKEN_VERSION, "t": tenant, "s": status or "", "u": position.updated, "p": position.pk, "k": position.sk},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def decode_token(token: str, tenant: str, status: str | None) -> Position:
    """The position a token names, if it was issued for this tenant and status; else 400."""
    from chalicelib.storage.queue import Position

    if not token or len(token) > MAX_TOKEN_CHARS or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        raise _bad_token()
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8"))
    except (binascii.Error, UnicodeError, ValueError):
        raise _bad_token() from None
    if not isinstance(data, dict) or set(data) != {"v", "t", "s", "u", "p", "k"}:
        raise _bad_token()
    updated, pk, sk = data["u"], data["p"], data["k"]
    if (
        data["v"] != TOKEN_VERSION
        or data["t"] != tenant
        or data["s"] != (status or "")
        or not isinstance(updated, int)
        or isinstance(updated, bool)
        or updated < 0
        or not isinstance(pk, str)
        or not isinstance(sk, str)
        or not pk.startswith(tenant + "#")
        or len(pk) <= len(tenant) + 1
        or "#" not in sk
        or len(pk) > 400
        or len(sk) > 200
    ):
        raise _bad_token()
    return Position(updated, pk, sk)


def _query(request: Request) -> dict[str, str]:
    params = dict(request.query_params or {})
    unknown = sorted(set(params) - QUERY_PARAMS)
    if unknown:
        raise InvalidInput(
            "unknown query parameters: " + ", ".join(unknown), [{"field": k, "problem": "unknown"} for k in unknown]
        )
    return {k: str(v) for k, v in params.items()}


def parse_queue_query(params: dict[str, str]) -> tuple[str | None, int]:
    from chalicelib.storage.queue import STATUSES

    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise InvalidInput("status must be one of " + ", ".join(STATUSES), [{"field": "status", "problem": "invalid"}])
    raw = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw is not None:
        if not _LIMIT_RE.match(raw) or not 1 <= int(raw) <= MAX_LIMIT:
            raise InvalidInput(
                f"limit must be a whole number from 1 to {MAX_LIMIT}", [{"field": "limit", "problem": "invalid"}]
            )
        limit = int(raw)
    return status, limit


# -- the routes ------------------------------------------------------------------------------


def _admin(request: Request, stage: str, tenant: str) -> Caller:
    if stage != settings().stage:
        raise NotFound("no such stage")
    caller = Caller.from_context((request.context or {}).get("authorizer"))
    require_admin(caller, check_tenant(tenant))
    return caller


def list_records(request: Request, stage: str, tenant: str) -> Response:
    """GET .../records?status=&limit=&next=: the review queue, most recently updated first."""
    from chalicelib.storage import queue

    caller = _admin(request, stage, tenant)
    params = _query(request)
    status, limit = parse_queue_query(params)
    after = decode_token(params["next"], tenant, status) if "next" in params else None
    records, position = queue.page(tenant, status, limit, after)
    return Response(
        body={
            "records": [public_record(r, caller) for r in records],
            "next": encode_token(tenant, status, position) if position else None,
        },
        status_code=200,
        headers=JSON,
    )


def list_events(request: Request, stage: str, tenant: str, email: str) -> Response:
    """GET .../email/{email}/events: the customer's audit trail, oldest first."""
    from chalicelib.services import store
    from chalicelib.storage.events import trail

    _admin(request, stage, tenant)
    value = unquote(email)
    email = bundle_email(value) or normalise_email(value)
    events = trail(tenant, email)
    if not events and not store().list_for_email(tenant, email):
        raise NotFound("no records and no events for that e-mail")
    return Response(body={"events": events}, status_code=200, headers=JSON)
