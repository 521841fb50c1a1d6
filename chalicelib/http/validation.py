"""Validation of request bodies. Everything here raises InvalidInput (400) or
PayloadTooLarge (413) and never touches storage."""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from chalicelib.config import ID_TYPES, Settings
from chalicelib.domain.submission import ALLOWED_CONTENT_TYPES, LINK_KINDS, LIVENESS_KIND, ManualDecision, Submission
from chalicelib.errors import InvalidInput, PayloadTooLarge
from chalicelib.keys import bundle_email, tenant_key_prefixes, uploads_prefix

MAX_LINKS = 5
SERVICE_OWNED = frozenset(
    {
        "validation_status",
        "verify",
        "checks",
        "reasons",
        "decided_by",
        "decided_time",
        "created_time",
        "last_updated_time",
        "email_verified",
        "phone_verified",
        "submission_id",
        "version",
        "decision_id",
        "content_hash",
        "source",
        "app_uuid",
        "decision_final",
    }
)
# field -> (required, max length)
DETAIL_FIELDS: dict[str, tuple[bool, int]] = {
    "email": (True, 254),
    "first_name": (True, 100),
    "last_name": (True, 100),
    "middle_name": (False, 100),
    "date_of_birth": (True, 10),
    "id_type": (True, 20),
    "id_value": (True, 64),
    "address": (False, 200),
    "city": (False, 100),
    "state": (False, 50),
    "zip_code": (False, 10),
    "phone_number": (False, 20),
}
PATH_FIELDS = ("stage", "tenant")
MIN_AGE_YEARS, MAX_AGE_YEARS = 10, 120
TENANT_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\Z")
ZIP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{4,19}$")
ID_VALUE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./-]*$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
KEY_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]+$")


def parse_json_body(raw: bytes | str | None, settings: Settings) -> dict[str, Any]:
    raw = (raw.encode("utf-8") if isinstance(raw, str) else raw) or b""
    if len(raw) > settings.max_body_bytes:
        raise PayloadTooLarge(f"request body is larger than {settings.max_body_bytes} bytes")
    try:
        body = json.loads(raw.decode("utf-8"))
        # lone surrogates (\ud800) parse but cannot be stored or returned as UTF-8
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):  # JSONDecodeError and int-size limits are ValueErrors
        raise InvalidInput("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("request body must be a JSON object")
    return body


def check_tenant(tenant: str) -> str:
    if not TENANT_RE.match(tenant or ""):
        raise InvalidInput("tenant must be 1-63 lower-case letters, digits or hyphens")
    return tenant


def normalise_email(value: Any, field: str = "email") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} is required", [{"field": field, "problem": "missing"}])
    if "#" in value or len(value) > 254:
        raise InvalidInput(f"{field} is not a valid e-mail address", [{"field": field, "problem": "invalid"}])
    from email_validator import EmailNotValidError, validate_email  # 25 ms: not at `import app`

    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(f"{field} is not a valid e-mail address", [{"field": field, "problem": "invalid"}]) from None
    return result.normalized.lower()


def path_email(raw: str) -> str:
    """The e-mail part of a path: an e-mail address, or a bundle record's app_uuid (CONTRACT.md §3)."""
    value = unquote(raw)
    return bundle_email(value) or normalise_email(value)


def parse_iso_date(value: str, field: str) -> dt.date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise InvalidInput(f"{field} must be a date as YYYY-MM-DD", [{"field": field, "problem": "format"}])
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} is not a real date", [{"field": field, "problem": "invalid"}]) from None


def check_birth_date(value: str, today: dt.date | None = None) -> str:
    today = today or dt.date.today()
    born = parse_iso_date(value, "date_of_birth")
    if born > today:
        raise InvalidInput("date_of_birth is in the future", [{"field": "date_of_birth", "problem": "future"}])
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if not MIN_AGE_YEARS <= age <= MAX_AGE_YEARS:
        raise InvalidInput(
            f"date_of_birth gives an implausible age ({age})",
            [{"field": "date_of_birth", "problem": "implausible_age"}],
        )
    return value


def _string(body: dict[str, Any], field: str, max_len: int, required: bool) -> str | None:
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise InvalidInput(f"{field} is required", [{"field": field, "problem": "missing"}])
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", [{"field": field, "problem": "type"}])
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} is required", [{"field": field, "problem": "missing"}])
    if len(value) > max_len:
        raise InvalidInput(f"{field} is longer than {max_len} characters", [{"field": field, "problem": "too_long"}])
    if CONTROL_RE.search(value):
        raise InvalidInput(f"{field} contains control characters", [{"field": field, "problem": "invalid"}])
    return value


def _required(body: dict[str, Any], field: str, max_len: int) -> str:
    value = _string(body, field, max_len, required=True)
    if value is None:  # _string has refused a missing required field already
        raise InvalidInput(f"{field} is required", [{"field": field, "problem": "missing"}])
    return value


def _refuse_fields(body: dict[str, Any], allowed: set[str]) -> None:
    owned = sorted(k for k in body if k in SERVICE_OWNED and k not in allowed)
    if owned:
        raise InvalidInput(
            "fields owned by the service cannot be set: " + ", ".join(owned),
            [{"field": k, "problem": "service_owned"} for k in owned],
        )
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        raise InvalidInput(
            "unknown fields: " + ", ".join(unknown), [{"field": k, "problem": "unknown"} for k in unknown]
        )


def check_path_echo(body: dict[str, Any], stage: str, tenant: str, email: str | None = None) -> None:
    for field, expected in (("stage", stage), ("tenant", tenant)):
        if field in body and body[field] != expected:
            raise InvalidInput(f"{field} in the body differs from the path", [{"field": field, "problem": "mismatch"}])
    if email is not None and "email" in body and normalise_email(body["email"]) != email:
        raise InvalidInput("email in the body differs from the path", [{"field": "email", "problem": "mismatch"}])


def require_own_uploads(submission: Submission, tenant: str) -> None:
    """A user may link only documents uploaded for their own e-mail (admins: anything in the tenant)."""
    prefix = uploads_prefix(tenant, submission.email)
    for i, link in enumerate(submission.document_links):
        if link.get("key") is not None and not str(link["key"]).startswith(prefix):
            field = f"document_links[{i}]"
            raise InvalidInput(
                f"{field} was not uploaded for this e-mail (use the documents route)",
                [{"field": field, "problem": "not_own_upload"}],
            )


def _safe_key(key: str, tenant: str, field: str) -> str:
    """A key under one of the tenant's prefixes (`tenants/{tenant}/`, `uploads/{tenant}/`)."""
    prefixes = tenant_key_prefixes(tenant)
    normalised = posixpath.normpath(key) if key else ""
    inside = any(key.startswith(prefix) and len(key) > len(prefix) for prefix in prefixes) if key else False
    if not key or len(key) > 1024 or not KEY_RE.match(key) or normalised != key or not inside or ".." in key.split("/"):
        raise InvalidInput(
            f"{field} must be a document key inside this tenant's prefixes ({', '.join(prefixes)})",
            [{"field": field, "problem": "outside_tenant_prefix"}],
        )
    return key


def key_from_url(url: str, tenant: str, settings: Settings, field: str) -> str:
    """Accept only URLs into the stage's bucket under the tenant's prefix; return the key."""
    refuse = InvalidInput(
        f"{field} must point into this stage's document bucket under the tenant's prefix",
        [{"field": field, "problem": "url_not_allowed"}],
    )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise refuse from None
    if parts.username or parts.password or parts.fragment:
        raise refuse
    host = (parts.hostname or "").lower()
    bucket = settings.bucket.lower()
    path = unquote(parts.path)
    key: str | None = None
    if parts.scheme == "s3" and host == bucket:
        key = path.lstrip("/")
    elif parts.scheme == "https" and port in (None, 443):
        virtual = {
            f"{bucket}.s3.amazonaws.com",
            f"{bucket}.s3.{settings.region}.amazonaws.com",
            f"{bucket}.s3-{settings.region}.amazonaws.com",
        }
        path_style = {"s3.amazonaws.com", f"s3.{settings.region}.amazonaws.com"}
        if host in virtual:
            key = path.lstrip("/")
        elif host in path_style and path.startswith(f"/{bucket}/"):
            key = path[len(bucket) + 2 :]
    elif settings.aws_endpoint and parts.scheme in ("http", "https"):
        local = urlsplit(settings.aws_endpoint)
        if (host, port) == ((local.hostname or "").lower(), local.port) and path.startswith(f"/{bucket}/"):
            key = path[len(bucket) + 2 :]
    if key is None:
        raise refuse
    return _safe_key(key, tenant, field)


def _links(value: Any, tenant: str, settings: Settings) -> list[dict[str, str | None]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput("document_links must be a list", [{"field": "document_links", "problem": "type"}])
    if len(value) > MAX_LINKS:
        raise InvalidInput(
            f"at most {MAX_LINKS} document links are allowed", [{"field": "document_links", "problem": "too_many"}]
        )
    links: list[dict[str, str | None]] = []
    for i, link in enumerate(value):
        field = f"document_links[{i}]"
        if not isinstance(link, dict):
            raise InvalidInput(f"{field} must be an object", [{"field": field, "problem": "type"}])
        if link.get("kind") == LIVENESS_KIND:  # a liveness session in place of the selfie
            links.append(_liveness_link(link, field, links))
            continue
        unknown = sorted(set(link) - {"kind", "key", "url", "filename"})
        if unknown:
            raise InvalidInput(
                f"{field} has unknown fields: " + ", ".join(unknown), [{"field": field, "problem": "unknown"}]
            )
        kind = link.get("kind")
        if kind not in LINK_KINDS:
            raise InvalidInput(
                f"{field}.kind must be one of " + ", ".join(LINK_KINDS),
                [{"field": f"{field}.kind", "problem": "invalid"}],
            )
        has_key, has_url = link.get("key") is not None, link.get("url") is not None
        if has_key == has_url:
            raise InvalidInput(f"{field} needs exactly one of key or url", [{"field": field, "problem": "key_or_url"}])
        target = link["key"] if has_key else link["url"]
        if not isinstance(target, str):
            raise InvalidInput(f"{field} key/url must be a string", [{"field": field, "problem": "type"}])
        key = (
            _safe_key(target, tenant, f"{field}.key")
            if has_key
            else key_from_url(target, tenant, settings, f"{field}.url")
        )
        filename = _string(link, "filename", 255, required=False)
        links.append({"kind": kind, "key": key, "filename": filename})
    return links


SESSION_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def _liveness_link(link: dict[str, Any], field: str, links: list[dict[str, str | None]]) -> dict[str, str | None]:
    """`{"kind": "liveness", "session_id": "<uuid>"}` (from the liveness route), at most one."""
    if sorted(link) != ["kind", "session_id"]:
        raise InvalidInput(
            f"{field}: a liveness link has kind and session_id only", [{"field": field, "problem": "unknown"}]
        )
    session = link["session_id"]
    if not isinstance(session, str) or not SESSION_ID_RE.match(session):
        raise InvalidInput(
            f"{field}.session_id must be a session id from the liveness route",
            [{"field": f"{field}.session_id", "problem": "invalid"}],
        )
    if any(other["kind"] == LIVENESS_KIND for other in links):
        raise InvalidInput("at most one liveness link is allowed", [{"field": field, "problem": "duplicate"}])
    return {"kind": LIVENESS_KIND, "session_id": session}


def parse_submission(
    body: dict[str, Any], stage: str, tenant: str, settings: Settings, today: dt.date | None = None
) -> Submission:
    _refuse_fields(body, set(DETAIL_FIELDS) | set(PATH_FIELDS) | {"document_links"})
    check_path_echo(body, stage, tenant)
    details: dict[str, str | None] = {}
    for field, (required, max_len) in DETAIL_FIELDS.items():
        details[field] = _string(body, field, max_len, required)
    details["email"] = normalise_email(body.get("email"))
    if details["id_type"] not in ID_TYPES:
        raise InvalidInput(
            "id_type must be one of: " + ", ".join(ID_TYPES), [{"field": "id_type", "problem": "invalid"}]
        )
    if not ID_VALUE_RE.match(details["id_value"] or ""):
        raise InvalidInput(
            "id_value may hold letters, digits, spaces, '.', '/' and '-' only",
            [{"field": "id_value", "problem": "invalid"}],
        )
    check_birth_date(details["date_of_birth"], today)  # type: ignore[arg-type]
    if details["zip_code"] and not ZIP_RE.match(details["zip_code"]):
        raise InvalidInput("zip_code is not a valid postal code", [{"field": "zip_code", "problem": "invalid"}])
    if details["phone_number"] and not PHONE_RE.match(details["phone_number"]):
        raise InvalidInput(
            "phone_number is not a valid phone number", [{"field": "phone_number", "problem": "invalid"}]
        )
    return Submission(details=details, document_links=_links(body.get("document_links"), tenant, settings))


def parse_manual_decision(body: dict[str, Any], stage: str, tenant: str, email: str) -> ManualDecision:
    _refuse_fields(
        body,
        {
            "id_type",
            "id_value",
            "verification_status",
            "validation_status",
            "reason",
            "final",
            "stage",
            "tenant",
            "email",
        },
    )
    check_path_echo(body, stage, tenant, email)
    status = body.get("verification_status", body.get("validation_status"))
    if (
        "verification_status" in body
        and "validation_status" in body
        and body["verification_status"] != body["validation_status"]
    ):
        raise InvalidInput(
            "verification_status and validation_status differ",
            [{"field": "verification_status", "problem": "mismatch"}],
        )
    if status not in ("verified", "rejected"):
        raise InvalidInput(
            "verification_status must be verified or rejected", [{"field": "verification_status", "problem": "invalid"}]
        )
    id_type = _required(body, "id_type", 20)
    if id_type not in ID_TYPES:
        raise InvalidInput(
            "id_type must be one of: " + ", ".join(ID_TYPES), [{"field": "id_type", "problem": "invalid"}]
        )
    id_value = _required(body, "id_value", 64)
    if "#" in id_value:
        raise InvalidInput("id_value may not contain '#'", [{"field": "id_value", "problem": "invalid"}])
    reason = _required(body, "reason", 500)
    final = body.get("final", True)
    if not isinstance(final, bool):
        raise InvalidInput("final must be true or false", [{"field": "final", "problem": "type"}])
    return ManualDecision(id_type=id_type, id_value=id_value, status=status, reason=reason, final=final)


def parse_upload_request(body: dict[str, Any]) -> tuple[str, str | None]:
    """The documents route's body: (content type, kind)."""
    unknown = sorted(set(body) - {"content_type", "kind", "filename", "stage", "tenant", "email"})
    if unknown:
        raise InvalidInput(
            "unknown fields: " + ", ".join(unknown), [{"field": k, "problem": "unknown"} for k in unknown]
        )
    content_type = body.get("content_type")
    if not isinstance(content_type, str) or content_type not in ALLOWED_CONTENT_TYPES:
        raise InvalidInput(
            "content_type must be image/jpeg or image/png", [{"field": "content_type", "problem": "invalid"}]
        )
    kind = body.get("kind")
    if kind is not None and (not isinstance(kind, str) or kind not in LINK_KINDS):
        raise InvalidInput("kind must be one of " + ", ".join(LINK_KINDS), [{"field": "kind", "problem": "invalid"}])
    return content_type, kind
