"""Every key the service writes: record keys in the tables, and object keys in the document
bucket (tenant, upload and bundle prefixes). No I/O; nothing here knows a stage."""
from __future__ import annotations

import hashlib
import re

SEP = "#"

# -- the KYC, identity and events tables ------------------------------------------------


def record_pk(tenant: str, email: str) -> str:
    """A KYC record's (and an identity record's) partition key, `tenant#email`."""
    return f"{tenant}{SEP}{email}"


def record_sk(id_type: str, id_value: str) -> str:
    """A KYC record's sort key, `id_type#id`."""
    return f"{id_type}{SEP}{id_value}"


def audit_pk(tenant: str, email: str) -> str:
    """The events table's partition of a customer's audit entries."""
    return f"audit{SEP}{tenant}{SEP}{email}"


def licence_override_key(tenant: str, app_uuid: str) -> tuple[str, str]:
    """(pk, sk) in the events table of a bundle's VALIDATION_OVERRIDE column."""
    return f"bundle{SEP}{tenant}{SEP}{app_uuid}", "licence-override"


NOTIFY_IDEMPOTENCY_PK = "idempotency#notify"  # the notifier's idempotency markers (events table)

# -- the document bucket ----------------------------------------------------------------

ZIPPED, UNZIPPED = "zipped/", "unzipped/"  # bundles as dropped; their members once taken in
APP_UUID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")


def tenant_prefix(tenant: str) -> str:
    return f"tenants/{tenant}/"


def uploads_prefix(tenant: str, email: str) -> str:
    """Where the documents route puts a customer's uploads (e-mail hashed: no PII in keys)."""
    return f"{tenant_prefix(tenant)}uploads/{hashlib.sha256(email.encode()).hexdigest()[:16]}/"


def bundle_key(tenant: str, app_uuid: str) -> str:
    """Where a bank drops a bundle: `zipped/{tenant}/{app_uuid}.zip` (CONTRACT.md §3)."""
    return f"{ZIPPED}{tenant}/{app_uuid}.zip"


def rejection_key(key: str) -> str | None:
    """`zipped/.../{name}.rejected.json` next to a bundle (None for a key outside zipped/)."""
    if not key.startswith(ZIPPED) or not key.endswith(".zip") or ".." in key.split("/"):
        return None
    return key[:-len(".zip")] + ".rejected.json"


def bundle_members_prefix(tenant: str, app_uuid: str) -> str:
    """Where a taken-in bundle's members are kept as they came."""
    return f"{UNZIPPED}{tenant}/{app_uuid}/"


def bundle_documents_prefix(tenant: str, app_uuid: str) -> str:
    """Where a bundle record's document images live (inside the tenant's prefix)."""
    return f"{tenant_prefix(tenant)}bundles/{app_uuid}/"


def is_bundle_key(value: str) -> bool:
    """True for the e-mail part of a bundle record without EMAIL (an app_uuid): no '@'."""
    return isinstance(value, str) and bool(APP_UUID_RE.match(value))


def bundle_email(value: str) -> str | None:
    """The record e-mail part for a path segment that is an app_uuid (lower case), else None.

    The API's GET and validate routes use it before normalise_email:
    `email = bundle_email(raw) or normalise_email(raw)`."""
    return value.lower() if is_bundle_key(value) else None


# -- tenant integrations (events table): settings, webhook, idempotency, attempts -----------

TENANT_SETTINGS_SK = "settings"  # a tenant's rules (docs/integrations.md)
TENANT_WEBHOOK_SK = "webhook"    # a tenant's webhook endpoint and encrypted signing secret


def tenant_config_pk(tenant: str) -> str:
    """The events table's partition of a tenant's own configuration (settings, webhook)."""
    return f"tenant{SEP}{tenant}"


def idempotency_pk(tenant: str) -> str:
    """Powertools' idempotency records of a tenant's create_or_update calls (static_pk_value)."""
    return f"idempotency{SEP}create_or_update{SEP}{tenant}"


def idempotency_customer_pk(tenant: str, email: str) -> str:
    """One pointer per stored create_or_update response of a customer: erasure finds them with a
    Query (http/idempotency.py writes them, storage/idempotency.erase_idempotency deletes)."""
    return f"idempotency{SEP}customer{SEP}{tenant}{SEP}{email}"


def attempts_pk(tenant: str, email: str) -> str:
    """A customer's rejected submissions (max_attempts)."""
    return f"attempts{SEP}{tenant}{SEP}{email}"
