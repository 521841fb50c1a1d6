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


def status_key(tenant: str, status: str) -> str:
    """A KYC record's `tenant#status`: the partition of the review queue's status index."""
    return f"{tenant}{SEP}{status}"


def audit_pk(tenant: str, email: str) -> str:
    """The events table's partition of a customer's audit entries."""
    return f"audit{SEP}{tenant}{SEP}{email}"


def licence_override_key(tenant: str, app_uuid: str) -> tuple[str, str]:
    """(pk, sk) in the events table of a bundle's VALIDATION_OVERRIDE column."""
    return f"bundle{SEP}{tenant}{SEP}{app_uuid}", "licence-override"


NOTIFY_IDEMPOTENCY_PK = "idempotency#notify"  # the notifier's idempotency markers (events table)
ERASED_IDEMPOTENCY_PK = "idempotency#erased"  # the kyc.erased notification's markers (events table)


def erasure_ref(tenant: str, email: str) -> str:
    """The PII-free reference of a customer's erasure: a SHA-256 of tenant and e-mail. It cannot
    be turned back into the e-mail; whoever knows the e-mail can recognise it (what late stream
    records and the tenant's own bookkeeping need)."""
    return hashlib.sha256(f"{tenant}\x1f{email}".encode()).hexdigest()[:32]


def erasure_key(tenant: str, ref: str) -> tuple[str, str]:
    """(pk, sk) in the events table of a customer's erasure tombstone."""
    return f"erasure{SEP}{tenant}{SEP}{ref}", "tombstone"


def audit_tombstone_pk(tenant: str, ref: str) -> str:
    """The events table's partition of an erased customer's audit tombstones (no e-mail in it)."""
    return f"audit-erased{SEP}{tenant}{SEP}{ref}"


# -- the document bucket ----------------------------------------------------------------

ZIPPED, UNZIPPED = "zipped/", "unzipped/"  # bundles as dropped; their members once taken in
# What customers (presigned POSTs) and the bundle intake drop: expires after a day (lifecycle rule).
UPLOADS = "uploads/"
# What the service pinned at save, by retention class (infra/resources.yaml has a lifecycle rule per
# class): ID documents (AML record keeping) and biometric data (selfies: BIPA, GDPR Art. 9).
EVIDENCE = "evidence/"
EVIDENCE_CLASSES = {
    "id_front": "documents",
    "id_back": "documents",
    "selfie": "biometric",
    "id_portrait": "biometric",
    "liveness": "biometric",
}
APP_UUID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")


def tenant_prefix(tenant: str) -> str:
    return f"tenants/{tenant}/"


def owner_ref(email: str) -> str:
    """A customer's part of an object key: the e-mail hashed (no PII in keys)."""
    return hashlib.sha256(email.encode()).hexdigest()[:16]


def tenant_uploads_prefix(tenant: str) -> str:
    """The tenant's part of the uploads area (customers' uploads and the bundle intake's copies)."""
    return f"{UPLOADS}{tenant}/"


def tenant_key_prefixes(tenant: str) -> tuple[str, str]:
    """Where a document link of the tenant may point: its own prefix and its uploads."""
    return tenant_prefix(tenant), tenant_uploads_prefix(tenant)


def uploads_prefix(tenant: str, email: str) -> str:
    """Where the documents route puts a customer's uploads: `uploads/{tenant}/{owner}/`."""
    return f"{tenant_uploads_prefix(tenant)}{owner_ref(email)}/"


def evidence_class(kind: str) -> str:
    """The retention class of a linked document's kind: "documents" or "biometric"."""
    return EVIDENCE_CLASSES.get(kind, "documents")


def evidence_prefix(klass: str, tenant: str, email: str) -> str:
    """`evidence/{class}/{tenant}/{owner}/`: a customer's pinned documents of one class."""
    return f"{EVIDENCE}{klass}/{tenant}/{owner_ref(email)}/"


def evidence_prefixes(tenant: str, email: str) -> list[str]:
    return [evidence_prefix(klass, tenant, email) for klass in sorted(set(EVIDENCE_CLASSES.values()))]


def evidence_key(tenant: str, email: str, kind: str, sha256: str, ext: str) -> str:
    """The pinned copy of a linked document, named by its content (SHA-256 of its bytes): the
    same bytes always map to the same key, other bytes never do. Only the service writes here."""
    return f"{evidence_prefix(evidence_class(kind), tenant, email)}{sha256}{ext}"


def tenant_owns_key(tenant: str, key: str) -> bool:
    """An object key of the tenant: its prefix, its uploads or its pinned evidence (any class)."""
    if ".." in key.split("/"):
        return False
    evidence = tuple(f"{EVIDENCE}{klass}/{tenant}/" for klass in sorted(set(EVIDENCE_CLASSES.values())))
    return key.startswith(tenant_key_prefixes(tenant) + evidence)


def bundle_key(tenant: str, app_uuid: str) -> str:
    """Where a bank drops a bundle: `zipped/{tenant}/{app_uuid}.zip` (CONTRACT.md §3)."""
    return f"{ZIPPED}{tenant}/{app_uuid}.zip"


def rejection_key(key: str) -> str | None:
    """`zipped/.../{name}.rejected.json` next to a bundle (None for a key outside zipped/)."""
    if not key.startswith(ZIPPED) or not key.endswith(".zip") or ".." in key.split("/"):
        return None
    return key[: -len(".zip")] + ".rejected.json"


def bundle_members_prefix(tenant: str, app_uuid: str) -> str:
    """Where a taken-in bundle's members are kept as they came."""
    return f"{UNZIPPED}{tenant}/{app_uuid}/"


def bundle_documents_prefix(tenant: str, app_uuid: str) -> str:
    """Where the intake puts a bundle record's document images before the save pins them (the
    tenant's uploads area: they expire like uploads; the pinned evidence stays)."""
    return f"{tenant_uploads_prefix(tenant)}bundles/{app_uuid}/"


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
TENANT_WEBHOOK_SK = "webhook"  # a tenant's webhook endpoint and encrypted signing secret


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


# -- fraud signals: duplicate identities (issue 16) -------------------------------------------


def id_number_key(tenant: str, id_type: str, normalized_id: str) -> str:
    """A KYC record's `tenant#id`: the key of the ID-number index (`tenant-id-number`), the tenant,
    the ID type and the number normalised (storage/duplicates.py), so that "D1234-5678" and
    "d12345678" meet and no tenant ever reads another's partition."""
    return f"{tenant}{SEP}{id_type}{SEP}{normalized_id}"


def face_registry_pk(tenant: str) -> str:
    """The events table's partition of a tenant's indexed faces (storage/faces.py): one item per
    verified record, never shared between tenants."""
    return f"faces{SEP}{tenant}"


def face_registry_sk(email: str, record_sk: str) -> str:
    """`{owner}#{record}`: the customer's part first (erasure reads their entries with one Query), then
    the record's `id_type#id` hashed (no ID number in a key)."""
    return f"{owner_ref(email)}{SEP}{hashlib.sha256(record_sk.encode()).hexdigest()[:16]}"


def face_collection(stage: str, tenant: str) -> str:
    """The Rekognition collection of a stage's tenant: `{stage}-kyc-{tenant}` (one per tenant:
    SearchFacesByImage never sees another tenant's faces)."""
    return f"{stage}-kyc-{tenant}"


def liveness_prefix(tenant: str, email: str) -> str:
    """Where a customer's Face Liveness sessions write their reference image: their biometric
    evidence (retention and erasure as selfies). The verifier accepts a session's reference image
    only from here: a session of another customer or tenant is refused."""
    return f"{evidence_prefix('biometric', tenant, email)}liveness/"


def liveness_failures_pk(tenant: str, email: str) -> str:
    """The events table's partition of a customer's failed liveness checks (the route's throttle;
    the owner hashed, items expire after minutes)."""
    return f"liveness{SEP}{tenant}{SEP}{owner_ref(email)}"
