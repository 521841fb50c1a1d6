"""The KYC record store: saving submissions, reading records, manual decisions.

Used by the API routes and by the bundle intake, so both paths share validation,
idempotency and optimistic locking.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from chalicelib.domain.submission import ManualDecision, Submission
from chalicelib.errors import Conflict, DecisionFinal, NotFound
from chalicelib.keys import record_pk, record_sk, status_key
from chalicelib.logs import logger, ref
from chalicelib.storage.duplicates import record_id_key
from chalicelib.storage.evidence import EvidencePinner, Pinned
from chalicelib.storage.models import KycRecordBase, Tables, condition_failed, plain, set_status

PUBLIC_FIELDS = (
    "tenant",
    "email",
    "id_type",
    "id_value",
    "first_name",
    "middle_name",
    "last_name",
    "date_of_birth",
    "address",
    "city",
    "state",
    "zip_code",
    "phone_number",
    "source",
    "app_uuid",
    "validation_status",
    "verify",
    "email_verified",
    "phone_verified",
    "reasons",
    "decided_by",
    "decided_time",
    "submission_id",
    "created_time",
    "last_updated_time",
    "decision_final",
)


FINAL_MESSAGE = (
    "an admin's final decision rejected this customer's application: no new submission "
    "is taken until an admin decides again"
)
MAX_CHECKED_SIBLINGS = 99  # a transaction holds at most 100 items: the record and its siblings' checks


def _cancelled(exc: Exception) -> bool:
    """A transaction cancelled by one of its conditions."""
    return getattr(exc, "cause_response_code", None) == "TransactionCanceledException"


def content_hash(submission: Submission, digests: list[str] | None = None) -> str:
    """Details, links and the SHA-256 of each linked document's bytes: the same keys holding new
    images (a re-used presigned upload) are new content; the same bytes are the same content,
    whether read from the upload or, once it expired, from the pinned evidence."""
    canonical = json.dumps(
        {"details": submission.details, "links": submission.document_links, "sha256": digests or []},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def to_public(record: KycRecordBase) -> dict[str, Any]:
    data = {name: getattr(record, name) for name in PUBLIC_FIELDS}
    data["document_links"] = [plain(link) for link in record.document_links or []]
    data["checks"] = plain(record.checks)
    data["reasons"] = list(record.reasons or [])
    data["decision_final"] = bool(record.decision_final)
    public: dict[str, Any] = json.loads(json.dumps(data, default=_json_default))
    return public


def _json_default(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(type(value).__name__)


class RecordStore:
    """Reads and writes KYC records of one stage. Takes its tables and clients in
    the constructor (the app passes lazily-built ones)."""

    def __init__(
        self,
        tables: Tables,
        s3: Any = None,
        cognito: Any = None,
        bucket: str | None = None,
        user_pool_id: str | None = None,
        max_upload_bytes: int = 10 * 1024 * 1024,
    ):
        self.tables = tables
        self.s3 = s3
        self.cognito = cognito
        self.bucket = bucket
        self.user_pool_id = user_pool_id
        self.max_upload_bytes = max_upload_bytes

    # -- reading -------------------------------------------------------------
    def get(self, tenant: str, email: str, id_type: str, id_value: str) -> KycRecordBase | None:
        try:
            return self.tables.kyc.get(record_pk(tenant, email), record_sk(id_type, id_value), consistent_read=True)
        except DoesNotExist:
            return None

    def list_for_email(self, tenant: str, email: str) -> list[KycRecordBase]:
        return list(self.tables.kyc.query(record_pk(tenant, email), consistent_read=True))

    # -- saving --------------------------------------------------------------
    def pin_documents(
        self, tenant: str, email: str, links: list[dict[str, Any]], record: KycRecordBase | None
    ) -> list[Pinned]:
        """Every linked object must exist, be a JPEG or PNG within the caps; each is pinned as
        evidence (storage/evidence.py). An expired upload is read from the record's own evidence."""
        if self.s3 is None or self.bucket is None:
            return []
        before = {
            (str(link["kind"]), str(link["key"])): str(link["evidence_key"])
            for link in map(plain, (record.document_links or []) if record is not None else [])
            if link.get("evidence_key")
        }
        pinner = EvidencePinner(self.s3, self.bucket, self.max_upload_bytes)
        return [pinner.pin(tenant, email, i, link, before) for i, link in enumerate(links)]

    def cognito_flags(self, email: str) -> tuple[bool | None, bool | None]:
        """email_verified / phone_number_verified of the user; (None, None) when unknown."""
        if self.cognito is None or not self.user_pool_id:
            return None, None
        try:
            user = self.cognito.admin_get_user(UserPoolId=self.user_pool_id, Username=email)
        except Exception as exc:  # noqa: BLE001 - unknown user, pool not reachable: flags stay unknown
            logger().info("cognito flags unavailable", extra={"error": type(exc).__name__})
            return None, None
        attrs = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}

        def flag(name: str) -> bool | None:
            return None if name not in attrs else attrs[name].lower() == "true"

        return flag("email_verified"), flag("phone_number_verified")

    def save(
        self, tenant: str, submission: Submission, source: str = "api", app_uuid: str | None = None
    ) -> tuple[Any, bool, bool]:
        """Create or update a record. Returns (record, created, changed).

        Identical content returns the stored record unchanged (no new verification);
        any real change starts a new submission: pending, verify = true.
        """
        d = submission.details
        email, id_type, id_value = submission.email, submission.id_type, submission.id_value
        others = self.final_check(tenant, email, record_sk(id_type, id_value))
        record = self.get(tenant, email, id_type, id_value)
        if record is not None and record.decision_final:
            raise DecisionFinal(FINAL_MESSAGE)
        documents = [link for link in submission.document_links if link.get("key") is not None]
        sessions = [dict(link) for link in submission.document_links if link.get("key") is None]  # liveness
        pinned = self.pin_documents(tenant, email, documents, record)
        digest = content_hash(submission, [p.sha256 for p in pinned])
        if record is not None and record.content_hash == digest:
            return record, False, False
        if self.s3 is not None and self.bucket is not None:
            EvidencePinner(self.s3, self.bucket, self.max_upload_bytes).refresh(pinned)
        email_verified, phone_verified = self.cognito_flags(email)
        now = int(time.time())
        created = record is None
        if record is None:
            record = self.tables.kyc(
                record_pk(tenant, email), record_sk(id_type, id_value), tenant=tenant, created_time=now
            )
        for name, value in d.items():
            setattr(record, name, value)
        record.document_links = (
            [p.link(link.get("filename")) for p, link in zip(pinned, documents, strict=True)]
            if pinned
            else [dict(link) for link in documents]
        ) + sessions
        record.redrive_count = None
        record.source, record.app_uuid = source, app_uuid
        record.email_verified, record.phone_verified = email_verified, phone_verified
        record.validation_status, record.verify = "pending", True
        record.tenant_status = status_key(tenant, "pending")
        record.id_number_key = record_id_key(tenant, id_type, id_value)
        record.checks, record.reasons = {}, []
        record.decided_by = record.decided_time = record.decision_id = record.decision_final = None
        record.submission_id = uuid.uuid4().hex
        record.content_hash = digest
        record.last_updated_time = now
        try:
            self._put(record, others)
        except (PutError, TransactWriteError) as exc:
            if condition_failed(exc) or _cancelled(exc):
                self.final_check(tenant, email, record.sk)  # a final rejection came in meanwhile: 409 decision_final
                raise Conflict("the record was changed by another request; retry") from None
            raise
        logger().info(
            "submission saved", extra={"record": ref(record.pk, record.sk), "new_record": created, "source": source}
        )
        return record, created, True

    def final_check(self, tenant: str, email: str, sk: str) -> list[KycRecordBase]:
        """Refuse (409 decision_final) a customer any of whose records carries an admin's final
        rejection; otherwise return their other records in the tenant (the save re-checks them)."""
        records = self.list_for_email(tenant, email)
        if any(r.decision_final for r in records):
            raise DecisionFinal(FINAL_MESSAGE)
        return [r for r in records if r.sk != sk]

    def _put(self, record: KycRecordBase, others: list[KycRecordBase]) -> None:
        """Save the record (conditional on its version); with the customer's other records,
        atomically with the check that none became a final rejection since they were read."""
        if not others:
            record.save()
            return
        from pynamodb.connection import Connection
        from pynamodb.transactions import TransactWrite

        kyc = self.tables.kyc
        meta = kyc.Meta
        with TransactWrite(connection=Connection(region=meta.region, host=meta.host)) as tx:
            tx.save(record)
            for other in others[:MAX_CHECKED_SIBLINGS]:
                tx.condition_check(
                    kyc,
                    other.pk,
                    other.sk,
                    condition=kyc.decision_final.does_not_exist() | (kyc.decision_final == False),  # noqa: E712
                )

    # -- manual decision -----------------------------------------------------
    def decide_manually(self, tenant: str, email: str, decision: ManualDecision, admin_sub: str) -> KycRecordBase:
        record = self.get(tenant, email, decision.id_type, decision.id_value)
        if record is None:
            raise NotFound("no record with that e-mail, id_type and id_value")
        now = int(time.time())
        kyc = self.tables.kyc
        try:
            record.update(
                actions=set_status(kyc, tenant, decision.status)
                + [
                    kyc.decision_final.set(decision.blocks),
                    kyc.verify.set(False),
                    kyc.reasons.set([decision.reason]),
                    kyc.decided_by.set(f"admin:{admin_sub}"),
                    kyc.decided_time.set(now),
                    kyc.decision_id.set(uuid.uuid4().hex),
                    kyc.last_updated_time.set(now),
                ]
            )
        except UpdateError as exc:
            if condition_failed(exc):
                raise Conflict("the record was changed by another request; retry") from None
            raise
        logger().info(
            "manual decision",
            extra={"record": ref(record.pk, record.sk), "status": decision.status, "final": decision.blocks},
        )
        return record
