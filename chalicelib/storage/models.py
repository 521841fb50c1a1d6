"""PynamoDB models of the stage's tables.

Table names, region and endpoint come from the stage's settings at run time:
`tables()` returns model classes bound to the current settings (cached per
binding), so tests and the local stack can point them anywhere and no connection
exists until the first call.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar, cast

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from chalicelib.config import settings
from chalicelib.keys import status_key

M = TypeVar("M", bound=Model)


def condition_failed(exc: Exception) -> bool:
    """True when a PynamoDB write failed its condition (a newer write won, or a replay)."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def plain(value: Any) -> dict[str, Any]:
    """A map attribute as a plain dict: a MapAttribute (as loaded), a dict (as assigned), None."""
    if value is None:
        return {}
    return value.as_dict() if hasattr(value, "as_dict") else dict(value)


class DocumentLink(MapAttribute[str, Any]):
    kind = UnicodeAttribute()
    key = UnicodeAttribute(null=True)  # what the caller linked (an upload, or a bundle's copy); None: liveness
    session_id = UnicodeAttribute(null=True)  # a liveness link: the Face Liveness session
    filename = UnicodeAttribute(null=True)
    evidence_key = UnicodeAttribute(null=True)  # the bytes pinned at save (storage/evidence.py)
    sha256 = UnicodeAttribute(null=True)
    # an id_portrait link (service-owned): where the face is on the ID front, fractions of the image
    bounding_box: MapAttribute[str, Any] = MapAttribute(null=True)


class KycRecordBase(Model):
    """One KYC application: a customer's details and documents, and its decision."""

    pk = UnicodeAttribute(hash_key=True, attr_name="tenant#email")
    sk = UnicodeAttribute(range_key=True, attr_name="id_type#id")
    tenant = UnicodeAttribute()
    email = UnicodeAttribute()
    id_type = UnicodeAttribute()
    id_value = UnicodeAttribute()
    first_name = UnicodeAttribute()
    last_name = UnicodeAttribute()
    middle_name = UnicodeAttribute(null=True)
    date_of_birth = UnicodeAttribute()
    address = UnicodeAttribute(null=True)
    city = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)
    zip_code = UnicodeAttribute(null=True)
    phone_number = UnicodeAttribute(null=True)
    document_links: ListAttribute[Any] = ListAttribute(of=DocumentLink, default=list)  # maps, or dicts as assigned
    source = UnicodeAttribute(default="api")  # "api" or "bundle"
    app_uuid = UnicodeAttribute(null=True)

    validation_status = UnicodeAttribute(default="pending")
    # `tenant#status`, kept with validation_status by every write (set_status): the key of the
    # review queue's status index (storage/queue.py); `tenant` keys the other one
    tenant_status = UnicodeAttribute(null=True, attr_name="tenant#status")
    # `tenant#id`: the tenant, ID type and normalised number (storage/duplicates.py), set by every
    # save: the key of the ID-number index (the duplicate check)
    id_number_key = UnicodeAttribute(null=True, attr_name="tenant#id")
    verify = BooleanAttribute(default=True)
    email_verified = BooleanAttribute(null=True)
    phone_verified = BooleanAttribute(null=True)
    checks: MapAttribute[str, Any] = MapAttribute(default=dict)  # raw map: face_match, details_match, ...
    # (PynamoDB's stubs type `of` as the element's Python type; it takes the attribute class)
    reasons = ListAttribute[str](of=UnicodeAttribute, default=list)  # type: ignore[arg-type]
    decided_by = UnicodeAttribute(null=True)
    decided_time = NumberAttribute(null=True)
    decision_id = UnicodeAttribute(null=True)  # changes with every decision (automatic or manual)
    decision_final = BooleanAttribute(null=True)  # an admin's final rejection: the customer is blocked

    redrive_count = NumberAttribute(null=True)  # times `kyc_service redrive` re-queued this submission
    submission_id = UnicodeAttribute()  # changes with every new submission
    content_hash = UnicodeAttribute()
    created_time = NumberAttribute()
    last_updated_time = NumberAttribute()
    version = VersionAttribute()


def set_status(kyc: type[KycRecordBase], tenant: str, status: str) -> list[Action]:
    """The update actions that give a record a status: validation_status and its index key."""
    return [kyc.validation_status.set(status), kyc.tenant_status.set(status_key(tenant, status))]


class IdentityRecordBase(Model):
    """A customer's current identity status in a tenant (the latest decision)."""

    pk = UnicodeAttribute(hash_key=True, attr_name="tenant#email")
    tenant = UnicodeAttribute()
    email = UnicodeAttribute()
    validation_status = UnicodeAttribute()
    id_type = UnicodeAttribute()
    record_key = UnicodeAttribute()  # the KYC record's `id_type#id`
    decision_id = UnicodeAttribute()
    decided_time = NumberAttribute()
    reasons = ListAttribute[str](of=UnicodeAttribute, default=list)  # type: ignore[arg-type]
    decided_by = UnicodeAttribute()
    last_updated_time = NumberAttribute()


class EventBase(Model):
    """Audit entries and idempotency markers (pk/sk namespaced by prefix)."""

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    data: MapAttribute[str, Any] = MapAttribute(default=dict)
    created_time = NumberAttribute()
    expires_at = NumberAttribute(null=True)


@dataclass(frozen=True)
class Tables:
    kyc: type[KycRecordBase]
    identity: type[IdentityRecordBase]
    events: type[EventBase]


def _bind(base: type[M], table: str, region: str, host: str | None) -> type[M]:
    meta = type(
        "Meta",
        (),
        {
            "table_name": table,
            "region": region,
            "host": host,
            "max_retry_attempts": 5,
            "connect_timeout_seconds": 5,
            "read_timeout_seconds": 30,
        },
    )
    name = base.__name__.replace("Base", "")
    return cast("type[M]", type(name, (base,), {"Meta": meta, "__module__": __name__}))


@lru_cache(maxsize=16)
def _tables(kyc: str, identity: str, events: str, region: str, host: str | None) -> Tables:
    return Tables(
        kyc=_bind(KycRecordBase, kyc, region, host),
        identity=_bind(IdentityRecordBase, identity, region, host),
        events=_bind(EventBase, events, region, host),
    )


def tables() -> Tables:
    s = settings()
    return _tables(s.table_name, s.identity_table_name, s.events_table_name, s.region, s.aws_endpoint)
