"""Erasure on request (GDPR Art. 17; BIPA's destruction of biometric data): everything the service
holds about one customer of one tenant, gone, with the audit trail kept as PII-free tombstones.

`erase(tenant, email, by)` runs, in order:
1. the tombstone (storage/tombstones.py): written first, PII-free; retries and late stream
   records read it;
2. STEPS, each `(tenant, email) -> counts` and idempotent, so that a run that failed halfway is
   completed by the next one (each run picks up what is left);
3. one `kyc.erased` notification on the stage's topic (once per erasure, retries included);
4. the tombstone marked complete. A later erasure of the same customer finds nothing (None: the
   API answers 404) unless a new customer with that e-mail came since.

The face data of the duplicate search (storage/faces.py: the registry's entries, Rekognition
collection faces, stored embeddings) is the "faces" step; ID portrait crops are biometric evidence,
deleted with the documents. Adding a step: write a function
`(tenant, email) -> {"name": count}` that deletes what it finds and returns what it deleted, and
insert `Step("name", function, remains)` into STEPS where the comment says. A step that needs the
customer's records (their links, app_uuid or face ids) must come before "records".
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DeleteError

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.keys import (
    ERASED_IDEMPOTENCY_PK,
    audit_pk,
    audit_tombstone_pk,
    bundle_documents_prefix,
    bundle_key,
    bundle_members_prefix,
    evidence_prefixes,
    licence_override_key,
    owner_ref,
    record_pk,
    rejection_key,
    tenant_prefix,
    uploads_prefix,
)
from chalicelib.logs import logger
from chalicelib.storage import tombstones
from chalicelib.storage.models import KycRecordBase, condition_failed, plain, tables
from chalicelib.storage.publishing import publish_once

Counts = dict[str, int]
NOTICE_IDEMPOTENCY_S = 30 * 24 * 3600
DELETE_BATCH = 1000  # S3 DeleteObjects' limit


@dataclass(frozen=True)
class Step:
    """One erasure step: `run` deletes what it finds and returns what it deleted; `remains` says
    whether it would find anything (a DELETE with nothing left anywhere answers 404)."""

    name: str
    run: Callable[[str, str], Counts]
    remains: Callable[[str, str], bool] | None = None


@dataclass(frozen=True)
class Erased:
    tenant: str
    reference: str
    erasure_id: str
    erased_at: int
    counts: Counts

    def answer(self) -> dict[str, Any]:
        """The DELETE route's answer (CONTRACT.md §1)."""
        return {"erased": {"records": self.counts.get("records", 0), "documents": self.counts.get("documents", 0)}}


def _records(tenant: str, email: str) -> list[KycRecordBase]:
    return list(tables().kyc.query(record_pk(tenant, email), consistent_read=True))


# -- objects: every version ---------------------------------------------------------------


def delete_objects(prefixes: Iterable[str], keys: Iterable[str]) -> int:
    """Delete every version (and delete marker) of the objects under `prefixes` and of `keys`;
    returns how many object versions were deleted (delete markers are not counted)."""
    s3, bucket = aws.client("s3"), settings().bucket
    found: dict[tuple[str, str], bool] = {}  # (key, version) -> a real version (not a marker)

    def listing(prefix: str, exact: bool) -> None:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            for item, real in [(v, True) for v in page.get("Versions", [])] + [
                (m, False) for m in page.get("DeleteMarkers", [])
            ]:
                if not exact or item["Key"] == prefix:
                    found[(item["Key"], item.get("VersionId") or "null")] = real

    for prefix in prefixes:
        listing(prefix, exact=False)
    for key in keys:
        listing(key, exact=True)
    entries = list(found)
    for start in range(0, len(entries), DELETE_BATCH):
        chunk = [{"Key": key, "VersionId": version} for key, version in entries[start : start + DELETE_BATCH]]
        errors = s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True}).get("Errors") or []
        if errors:
            raise RuntimeError(f"{len(errors)} object(s) could not be deleted ({errors[0].get('Code')})")
    return sum(found.values())


def _any_object(prefixes: Iterable[str]) -> bool:
    s3, bucket = aws.client("s3"), settings().bucket
    return any(s3.list_object_versions(Bucket=bucket, Prefix=p, MaxKeys=1).get("Versions") for p in prefixes)


def _customer_prefixes(tenant: str, email: str) -> list[str]:
    """The customer's uploads (and the uploads prefix of the layout before issue 13) and evidence."""
    return [
        uploads_prefix(tenant, email),
        f"{tenant_prefix(tenant)}uploads/{owner_ref(email)}/",
        *evidence_prefixes(tenant, email),
    ]


# -- the steps ----------------------------------------------------------------------------


def erase_documents(tenant: str, email: str) -> Counts:
    """Uploads, pinned evidence and every object a record links (its key and its evidence)."""
    keys: list[str] = []
    for record in _records(tenant, email):
        for link in map(plain, record.document_links or []):
            keys += [str(link[name]) for name in ("key", "evidence_key") if link.get(name)]
    return {"documents": delete_objects(_customer_prefixes(tenant, email), keys)}


def documents_remain(tenant: str, email: str) -> bool:
    return _any_object(_customer_prefixes(tenant, email))


def erase_bundles(tenant: str, email: str) -> Counts:
    """A bundle record's zip as dropped, its members, the intake's copies, its refusal note and
    its licence override."""
    count = 0
    for app_uuid in sorted({r.app_uuid for r in _records(tenant, email) if r.app_uuid}):
        zipped = bundle_key(tenant, app_uuid)
        count += delete_objects(
            [bundle_documents_prefix(tenant, app_uuid), bundle_members_prefix(tenant, app_uuid)],
            [zipped, rejection_key(zipped) or zipped],
        )
        tables().events(*licence_override_key(tenant, app_uuid)).delete()
    return {"documents": count}


def erase_records(tenant: str, email: str) -> Counts:
    """Every KYC record of the customer (one per id_type#id)."""
    count = 0
    for record in _records(tenant, email):
        try:
            record.delete()  # conditional on its version: a write meanwhile fails the step (retry)
        except DeleteError as exc:
            if not condition_failed(exc):
                raise
            raise RuntimeError("a record changed while it was being erased; retry") from None
        count += 1
    return {"records": count}


def records_remain(tenant: str, email: str) -> bool:
    return bool(_records(tenant, email))


def erase_identity(tenant: str, email: str) -> Counts:
    response = aws.client("dynamodb").delete_item(
        TableName=settings().identity_table_name,
        Key={"tenant#email": {"S": record_pk(tenant, email)}},
        ReturnValues="ALL_OLD",
    )
    return {"identity": 1 if response.get("Attributes") else 0}


def identity_remains(tenant: str, email: str) -> bool:
    item = aws.client("dynamodb").get_item(
        TableName=settings().identity_table_name,
        ConsistentRead=True,
        Key={"tenant#email": {"S": record_pk(tenant, email)}},
    )
    return "Item" in item


def tombstone_entry(data: dict[str, Any]) -> dict[str, Any]:
    """An audit entry without personal data: what changed, who decided and when; the record's ID
    type but not its number; the reasons only where the system wrote them (they never quote the
    values compared), not an admin's free text."""
    who = str(data.get("who") or "")
    kept: dict[str, Any] = {
        "from": data.get("from"),
        "to": data.get("to"),
        "who": who,
        "when": data.get("when"),
        "id_type": str(data.get("record") or "").split("#", 1)[0] or None,
        "erased": True,
    }
    kept["reasons"] = list(data.get("reasons") or []) if who == "system" else []
    return kept


def reduce_audit(tenant: str, email: str) -> Counts:
    """Each audit entry becomes a PII-free tombstone under `audit-erased#{tenant}#{ref}` (written
    before the entry is deleted, keyed by the entry: a retry writes nothing twice), followed by
    one entry for the erasure itself."""
    events, stone = tables().events, tombstones.read(tenant, email)
    if stone is None:
        raise RuntimeError("the erasure's tombstone is missing")
    pk = audit_tombstone_pk(tenant, stone.ref)
    count = 0
    for entry in events.query(audit_pk(tenant, email), consistent_read=True):
        data = plain(entry.data)
        sk = f"{int(data.get('when') or 0):010d}#{hashlib.sha256(entry.sk.encode()).hexdigest()[:16]}"
        _put_once(
            events(
                pk,
                sk,
                kind="audit_tombstone",
                data=tombstone_entry(data),
                created_time=entry.created_time,
                expires_at=entry.expires_at,
            )
        )
        entry.delete()
        count += 1
    _put_once(
        events(
            pk,
            # "~" sorts after the hex digits of the entries' keys: the erasure is last within its second
            f"{stone.erased_at:010d}#~erasure#{stone.erasure_id[:16]}",
            kind="audit_tombstone",
            data={
                "from": None,
                "to": "erased",
                "who": stone.by,
                "when": stone.erased_at,
                "erased": True,
                "reasons": [],
            },
            created_time=stone.erased_at,
            expires_at=stone.erased_at + tombstones.RETENTION_S,
        )
    )
    return {"audit_entries": count}


def _put_once(item: Any) -> None:
    from pynamodb.exceptions import PutError

    try:
        item.save(condition=type(item).pk.does_not_exist())
    except PutError as exc:
        if not condition_failed(exc):
            raise


def audit_remains(tenant: str, email: str) -> bool:
    return bool(list(tables().events.query(audit_pk(tenant, email), limit=1)))


def erase_idempotency_responses(tenant: str, email: str) -> dict[str, int]:
    from chalicelib.storage.idempotency import erase_idempotency

    return {"idempotency_responses": erase_idempotency(tenant, email)}


def erase_face_data(tenant: str, email: str) -> Counts:
    from chalicelib.storage.faces import erase_faces

    return erase_faces(tenant, email)


def faces_remain(tenant: str, email: str) -> bool:
    from chalicelib.storage.faces import faces_remain as remain

    return remain(tenant, email)


def erase_rejection_counts(tenant: str, email: str) -> dict[str, int]:
    from chalicelib.storage.attempts import erase_attempts

    return {"attempt_counts": erase_attempts(tenant, email)}


STEPS: tuple[Step, ...] = (
    Step("documents", erase_documents, documents_remain),  # reads the records' links: before "records"
    Step("bundles", erase_bundles),  # reads the records' app_uuid: before "records"
    Step("faces", erase_face_data, faces_remain),  # the duplicate search's faces (collection, embeddings)
    Step("records", erase_records, records_remain),
    Step("identity", erase_identity, identity_remains),
    Step("audit", reduce_audit, audit_remains),
    Step("idempotency", erase_idempotency_responses),  # create_or_update's stored responses (PII)
    Step("attempts", erase_rejection_counts),  # the tenant's max_attempts count of the customer
)


# -- the notification -----------------------------------------------------------------------


def notice(stone: tombstones.Tombstone) -> dict[str, Any]:
    """The `kyc.erased` message: no personal data, the erasure's reference and time."""
    occurred = dt.datetime.fromtimestamp(stone.erased_at, dt.UTC).isoformat().replace("+00:00", "Z")
    return {"event": "kyc.erased", "tenant": stone.tenant, "reference": stone.ref, "occurred_at": occurred}


def notify(stone: tombstones.Tombstone) -> None:
    """One `kyc.erased` message per erasure: a retry of the same erasure publishes nothing again."""
    publish_once(
        {"tenant": stone.tenant, "erasure_id": stone.erasure_id, "message": notice(stone)},
        static_pk=ERASED_IDEMPOTENCY_PK,
        key="[tenant, erasure_id]",
        ttl_s=NOTICE_IDEMPOTENCY_S,
    )


# -- the run ------------------------------------------------------------------------------------


def erase(tenant: str, email: str, by: str, steps: tuple[Step, ...] | None = None) -> Erased | None:
    """Erase the customer; None when there is nothing (left) to erase. Raises
    tombstones.ErasureBusy while another run of the same erasure holds it."""
    steps = STEPS if steps is None else steps
    stone = tombstones.read(tenant, email)
    if stone is None or stone.status == tombstones.COMPLETE:
        if not any(step.remains(tenant, email) for step in steps if step.remains is not None):
            return None
        stone = tombstones.start(tenant, email, by, previous=stone)
    else:
        tombstones.take_lease(stone)
    log = logger()
    try:
        for step in steps:
            counts = step.run(tenant, email)
            tombstones.add_counts(stone, counts)
            log.info("erasure step done", extra={"erasure": stone.erasure_id, "step": step.name, "counts": counts})
        notify(stone)
        stone = tombstones.complete(stone)
    except Exception:
        tombstones.release(stone)
        raise
    log.info("customer erased", extra={"erasure": stone.erasure_id, "tenant": tenant, "counts": stone.counts})
    return Erased(tenant, stone.ref, stone.erasure_id, stone.erased_at, dict(stone.counts))
