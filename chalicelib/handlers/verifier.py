"""The verifier: records whose new image has verify == true get a decision.

Face comparison and ID reading run concurrently; a batch's records run
concurrently up to the stage's limit. `evaluate_submission` is the one path from
provider answers to a decision: the stream handler and `kyc_service decide` (which
replays recorded provider responses) both run it. The decision is written with verify =
false only if the record still has the submission id and version that were
read; otherwise a newer submission won and the stale result is dropped.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib import services
from chalicelib.config import settings
from chalicelib.domain.decision import Decision, Rules, date_convention_for, decide, decide_unusable
from chalicelib.domain.problems import REJECTED
from chalicelib.domain.tenant_rules import attempts_check
from chalicelib.handlers import signals
from chalicelib.handlers.batch import process_batch, raw_record
from chalicelib.handlers.streams import as_model, decision_changed, images
from chalicelib.logs import logger, ref
from chalicelib.providers.port import (
    FaceComparison,
    ImageRef,
    UnusableInput,
    VerificationProvider,
    reading_from_analyze_id,
)
from chalicelib.storage.models import KycRecordBase, condition_failed, plain, set_status, tables
from chalicelib.storage.tenants import tenant_rules

ADMIN_PREFIX = "admin:"  # decided_by of a manual decision
MISSING_DOCUMENTS = "the ID front and a selfie are needed for automatic verification"
NOT_PINNED = "the documents were not pinned when they were saved; save the application again (review)"


def _first(record: KycRecordBase, kind: str) -> dict[str, Any] | None:
    for link in map(plain, record.document_links or []):
        if link["kind"] == kind:
            return link
    return None


def evidence_checked(links: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
    """What the decision verified: each document's pinned object and the SHA-256 of its bytes."""
    return {
        kind: {"evidence_key": link["evidence_key"], "sha256": link.get("sha256")}
        for kind, link in links.items()
        if link is not None
    }


SUBMITTED_FIELDS = ("first_name", "middle_name", "last_name", "date_of_birth", "id_type", "id_value")


def submitted_details(record: KycRecordBase) -> dict[str, Any]:
    return {name: getattr(record, name) for name in SUBMITTED_FIELDS}


def utc_today() -> dt.date:
    """The date expiry is judged against in the verifier: today in UTC."""
    return dt.datetime.now(dt.UTC).date()


def stage_rules() -> Rules:
    """The decision thresholds of the stage's settings (`kyc_service decide`; the verifier applies
    each tenant's own: storage/tenants.tenant_rules)."""
    s = settings()
    return Rules(s.verify_threshold, s.review_threshold, s.clear_confidence)


def evaluate_submission(
    details: dict[str, Any],
    provider: VerificationProvider,
    front: ImageRef,
    back: ImageRef | None = None,
    selfie: ImageRef | None = None,
    *,
    today: dt.date,
    rules: Rules,
) -> Decision:
    """Read the ID (and compare the selfie with it, when there is a selfie) concurrently, then
    decide with `rules`, judging dates against `today`. Without a selfie the decision rests on
    the document alone. ProviderThrottled propagates (retry)."""
    claim = {name: details.get(name) for name in SUBMITTED_FIELDS if details.get(name)}
    with ThreadPoolExecutor(max_workers=2) as pool:
        face_f = pool.submit(provider.compare_faces, selfie, front) if selfie is not None else None
        id_f = pool.submit(provider.analyze_id, front, back, claim=claim)
        try:
            face: FaceComparison | None = face_f.result() if face_f is not None else None
            reading = reading_from_analyze_id(id_f.result())
        except UnusableInput as exc:
            return decide_unusable(exc.reason, exc.review)
    decision = decide(
        details,
        face,
        reading,
        rules.verify_threshold,
        rules.review_threshold,
        today=today,
        date_convention=date_convention_for(details.get("id_type")),
        clear_confidence=rules.clear_confidence,
    )
    decision.portrait = face.portrait if face is not None else None
    return decision


def evaluate(
    record: KycRecordBase,
    provider: VerificationProvider,
    bucket: str,
    today: dt.date,
    rules: Rules,
    selfie: dict[str, Any] | None = None,
) -> Decision:
    """A record's decision: its ID front (and back) and selfie through `evaluate_submission`, read
    from the evidence pinned at save (never from the uploads, which their owner can overwrite).
    `selfie`: a liveness session's reference image in place of the selfie link."""
    links = {kind: _first(record, kind) for kind in ("id_front", "id_back", "selfie")}
    if selfie is not None:
        links["selfie"] = selfie
    selfie, front, back = links["selfie"], links["id_front"], links["id_back"]
    if not selfie or not front:
        return decide_unusable(MISSING_DOCUMENTS, review=True)
    if not all(link.get("evidence_key") for link in links.values() if link is not None):
        return decide_unusable(NOT_PINNED, review=True)
    decision = evaluate_submission(
        submitted_details(record),
        provider,
        ImageRef(bucket, front["evidence_key"]),
        ImageRef(bucket, back["evidence_key"]) if back else None,
        ImageRef(bucket, selfie["evidence_key"]),
        today=today,
        rules=rules,
    )
    decision.checks = {**decision.checks, "evidence": evidence_checked(links)}
    return decision


def write_decision(
    record: KycRecordBase,
    decision: Decision,
    decided_by: str = "system",
    final: bool = True,
    portrait: dict[str, Any] | None = None,
) -> bool:
    """Write the decision if the record is still the submission that was verified.

    final=False (a licence check the decision waits for): checks and reasons are written
    with verify = false, but the status stays "pending" and no decision_id is set."""
    kyc = type(record)
    now = int(time.time())
    actions: list[Action]
    if final:
        actions = set_status(kyc, record.tenant, decision.status) + [
            kyc.decided_by.set(decided_by),
            kyc.decided_time.set(now),
            kyc.decision_id.set(uuid.uuid4().hex),
        ]
    else:
        actions = set_status(kyc, record.tenant, "pending")
    if portrait is not None:  # the ID portrait (service-owned link) replaces an earlier one
        links = [plain(x) for x in record.document_links or [] if plain(x).get("kind") != "id_portrait"]
        actions.append(kyc.document_links.set([*links, portrait]))
    try:
        record.update(
            actions=actions
            + [
                kyc.verify.set(False),
                kyc.checks.set(decision.checks),
                kyc.reasons.set(decision.reasons),
                kyc.last_updated_time.set(now),
            ],
            # still this submission, still waiting for verification, and not decided by an admin
            # meanwhile: an admin's decision of the same submission is never overwritten
            condition=(kyc.submission_id == record.submission_id)
            & (kyc.verify == True)  # noqa: E712
            & (kyc.decided_by.does_not_exist() | ~kyc.decided_by.startswith(ADMIN_PREFIX)),
        )
    except UpdateError as exc:
        if condition_failed(exc):
            logger().info("stale verification result dropped", extra={"record": ref(record.pk, record.sk)})
            return False
        raise
    logger().info("decision written", extra={"record": ref(record.pk, record.sk), "status": decision.status})
    return True


def still_current(record: KycRecordBase) -> bool:
    """Skip work for a stream record that a newer write has already superseded."""
    try:
        current = type(record).get(
            record.pk, record.sk, consistent_read=True, attributes_to_get=["version", "submission_id", "verify"]
        )
    except DoesNotExist:
        return False
    return (
        current.version == record.version and current.submission_id == record.submission_id and current.verify is True
    )


ProviderFactory = Callable[[], VerificationProvider]


def verify_one(raw: dict[str, Any], provider_factory: ProviderFactory | None = None) -> None:
    if raw.get("eventName") == "REMOVE":
        return
    old_image, new = images(raw)
    record = as_model(tables().kyc, new)
    if record is not None and decision_changed(as_model(tables().kyc, old_image), record):
        follow_decision(record, provider_factory)  # the face index follows decisions
        return
    if record is None or record.verify is not True or not still_current(record):
        return
    rules = tenant_rules(record.tenant)  # the tenant's settings over the stage's (storage/tenants.py)
    provider = (provider_factory or services.provider)()
    live = (  # a tenant that requires liveness (handlers/signals.py)
        signals.liveness_gate(record, provider, settings().integrations.liveness_min_confidence)
        if rules.require_liveness
        else None
    )
    if live is not None and live.reject:  # no face match without a live selfie
        decision = decide_unusable(live.reject, review=False)
    else:
        selfie = live.selfie if live is not None else None
        decision = evaluate(record, provider, settings().bucket, utc_today(), rules.rules, selfie=selfie)
    if live is not None:
        live.apply(decision)
    decision.checks = {**decision.checks, "rules": rules.as_check()}  # every decision records its rules
    portrait = signals.portrait_link(record, decision)
    if rules.duplicate_check:
        signals.apply_duplicate_check(decision, record, provider, rules.rules.review_threshold)
    from chalicelib.handlers import licence

    if licence.applies(record, rules.require_license_check):  # the licence check follows (handlers/licence.py)
        decision, final = licence.hold(decision, rules.require_license_check)
        licence.enqueue(record)  # before the write: a lost message cannot strand a waiting record
        write_decision(record, decision, final=final, portrait=portrait)
        return
    counted = count_attempt(record, decision, rules.max_attempts)
    if not write_decision(record, decision, portrait=portrait) and counted:
        from chalicelib.storage.attempts import uncount_rejection

        uncount_rejection(record.tenant, record.email, record.submission_id)


def follow_decision(record: KycRecordBase, provider_factory: ProviderFactory | None = None) -> None:
    """A decision's own stream record (automatic or an admin's): where the tenant runs the duplicate
    check, a verified record's face is indexed and any other decision removes it (handlers/signals.py).
    Never for a customer erased since (a late stream record brings no face back); a tenant that
    stopped the duplicate check has the record's face removed at its next decision."""
    from chalicelib.storage import faces
    from chalicelib.storage.tombstones import erased_after

    if not tenant_rules(record.tenant).duplicate_check:
        entry = faces.get(record.tenant, record.email, record.sk)
        if entry is not None:
            faces.remove(record.tenant, entry)
        return
    if erased_after(record.tenant, record.email, record.created_time):
        return
    if signals.follow_decision(record, (provider_factory or services.provider)()) == "indexed" and erased_after(
        record.tenant, record.email, record.created_time
    ):  # an erasure started while the face was indexed: its faces step may have run already
        faces.erase_faces(record.tenant, record.email)


def count_attempt(record: KycRecordBase, decision: Decision, max_attempts: int | None) -> bool:
    """The tenant's max_attempts: a rejection is counted; the one that reaches the limit is final
    (`checks.attempts.final`, and a reason). Returns whether it was counted."""
    if decision.status != REJECTED or not max_attempts:
        return False
    from chalicelib.storage.attempts import count_rejection

    rejected = count_rejection(record.tenant, record.email, record.submission_id)
    check, reason = attempts_check(rejected, max_attempts)
    decision.checks = {**decision.checks, "attempts": check}
    if reason:
        decision.reasons = [*decision.reasons, reason]
    return True


def latest_per_key(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Within one batch only the last image of a record matters; older ones are superseded."""
    last: dict[str, dict[str, Any]] = {}
    for raw in records:
        keys = (raw.get("dynamodb") or {}).get("Keys") or {}
        last[repr(sorted((k, str(v)) for k, v in keys.items()))] = raw
    return list(last.values())


def handle_batch(records: Iterable[Any], provider_factory: ProviderFactory | None = None) -> dict[str, Any]:
    raws = latest_per_key([raw_record(r) for r in records])
    return process_batch(
        raws, lambda raw: verify_one(raw, provider_factory), concurrency=settings().verify_concurrency, name="verifier"
    )
