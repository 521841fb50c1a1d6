"""Fraud signals around a decision (issue 16; docs/verification.md): the duplicate check, the
face index that follows decisions, the ID portrait kept for audit, and liveness where the provider
has none. The verifier calls them; the judgements themselves are domain/quality.py's.

Duplicates are looked for within the tenant only (the face index and the ID-number index are both
keyed by the tenant). The decision's check keeps owner references (hashes, never an e-mail) of
the matched customers; only an admin's view of the record resolves them (`resolve_matches`, called
by http/review.py), and an erased customer resolves to nothing.
"""

from __future__ import annotations

import hashlib
from typing import Any

from chalicelib.config import settings
from chalicelib.domain.decision import Decision
from chalicelib.domain.problems import VERIFIED
from chalicelib.domain.quality import DUPLICATE_REASON, LIVENESS_FAILED, LIVENESS_MISSING, LIVENESS_UNAVAILABLE, combine
from chalicelib.keys import evidence_key, liveness_prefix, owner_ref
from chalicelib.logs import logger, ref
from chalicelib.providers.port import ImageRef, UnusableInput, VerificationProvider, face_index, liveness_of
from chalicelib.storage import duplicates, faces
from chalicelib.storage.models import KycRecordBase, plain


def _selfie(record: KycRecordBase, checks: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The selfie a decision verified (`checks.evidence.selfie`: the pinned upload, or a liveness
    session's reference image), else the record's selfie link."""
    verified = plain((checks if checks is not None else plain(record.checks)).get("evidence")).get("selfie")
    if isinstance(verified, dict) or hasattr(verified, "as_dict"):
        selfie = plain(verified)
        if selfie.get("evidence_key"):
            return selfie
    for link in map(plain, record.document_links or []):
        if link.get("kind") == "selfie" and link.get("evidence_key"):
            return link
    return None


def _add_review(decision: Decision, reason: str) -> None:
    decision.reasons = [*decision.reasons, f"{reason} (review)"]
    decision.status = combine(decision.status, review=True)


# -- the duplicate check -----------------------------------------------------------------------


def duplicate_check(
    record: KycRecordBase, provider: VerificationProvider, threshold: float, checks: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The `duplicate` check: the same face (at least `threshold`, the tenant's review threshold, on
    the 1:1 scale) among the tenant's indexed faces, and the same ID number on another verified
    customer of the tenant. The customer's own entries never count."""
    own = owner_ref(record.email)
    matched: dict[tuple[str, str], dict[str, Any]] = {}
    searcher, selfie = face_index(provider), _selfie(record, checks)
    if searcher is not None and selfie is not None:
        tenant, image = record.tenant, ImageRef(settings().bucket, selfie["evidence_key"])
        hits = searcher.search_faces(tenant, image, threshold, lambda: faces.stored_embeddings(tenant))
        for hit in hits:
            if hit.external_id != own and hit.similarity >= threshold:
                key = (hit.external_id, "face")
                best = max(hit.similarity, matched.get(key, {}).get("similarity", 0.0))
                matched[key] = {"ref": hit.external_id, "via": "face", "similarity": round(best, 2)}
    for email, _sk in duplicates.verified_holders(record.tenant, record.id_type, record.id_value, record.email):
        matched[(owner_ref(email), "id_number")] = {"ref": owner_ref(email), "via": "id_number"}
    owners = {m["ref"] for m in matched.values()}
    return {
        "passed": not owners,
        "matches": len(owners),
        "face_search": searcher is not None and selfie is not None,
        "matched": sorted(matched.values(), key=lambda m: (m["via"], m["ref"])),
    }


def apply_duplicate_check(
    decision: Decision, record: KycRecordBase, provider: VerificationProvider, threshold: float
) -> None:
    check = duplicate_check(record, provider, threshold, decision.checks)
    decision.checks = {**decision.checks, "duplicate": check}
    if not check["passed"]:
        _add_review(decision, DUPLICATE_REASON)


# -- the face index follows decisions -----------------------------------------------------------


def follow_decision(record: KycRecordBase, provider: VerificationProvider) -> str:
    """A verified decision indexes the record's selfie; any other decision removes the record's
    face. Idempotent (stream records come at least once): the same selfie is indexed once."""
    entry = faces.get(record.tenant, record.email, record.sk)
    selfie = _selfie(record)
    if record.validation_status != VERIFIED or selfie is None:
        if entry is not None:
            faces.remove(record.tenant, entry)
            return "removed"
        return "none"
    sha = str(selfie.get("sha256") or selfie["evidence_key"])
    if entry is not None and entry.selfie_sha256 == sha:
        return "kept"
    searcher = face_index(provider)
    if searcher is None:
        return "unavailable"
    if entry is not None:
        faces.remove(record.tenant, entry)  # an earlier selfie of the record
    indexed = searcher.index_face(
        record.tenant, ImageRef(settings().bucket, selfie["evidence_key"]), owner_ref(record.email)
    )
    if indexed is None:
        logger().info("no face to index", extra={"record": ref(record.pk, record.sk)})
        return "no_face"
    faces.register(record.tenant, record.email, record.sk, sha, indexed)
    logger().info("face indexed", extra={"record": ref(record.pk, record.sk)})
    return "indexed"


# -- the ID portrait ------------------------------------------------------------------------------


def portrait_link(record: KycRecordBase, decision: Decision) -> dict[str, Any] | None:
    """The `id_portrait` link of the decision's portrait: a crop stored with the customer's
    biometric evidence (self-hosted), or the ID front's evidence and the face's bounding box (AWS)."""
    portrait = decision.portrait
    front = next((plain(x) for x in record.document_links or [] if plain(x).get("kind") == "id_front"), None)
    if portrait is None or front is None or not front.get("evidence_key"):
        return None
    box = {k: float(v) for k, v in portrait.box.items()}
    if portrait.crop is None:
        front_key = front["evidence_key"]
        return {"kind": "id_portrait", "key": front_key, "evidence_key": front_key, "bounding_box": box}
    from chalicelib import aws

    sha = hashlib.sha256(portrait.crop).hexdigest()
    key = evidence_key(record.tenant, record.email, "id_portrait", sha, ".jpg")
    aws.client("s3").put_object(Bucket=settings().bucket, Key=key, Body=portrait.crop, ContentType="image/jpeg")
    return {"kind": "id_portrait", "key": key, "evidence_key": key, "sha256": sha, "bounding_box": box}


# -- liveness ------------------------------------------------------------------------------------

NOT_COMPLETED = "the liveness check was not completed; do the liveness check again"
NOT_OWN_SESSION = "the liveness session does not belong to this application; do the liveness check again"


def liveness_gate(record: KycRecordBase, provider: VerificationProvider, min_confidence: float) -> LivenessOutcome:
    """A tenant that requires liveness. Without a liveness engine (self-hosted): the decision will say
    so and ask for review, never a silent pass. With one (AWS): the record's liveness session must
    have succeeded with at least `min_confidence`, and its reference image (the selfie the face
    match uses) must lie under this customer's liveness prefix; otherwise a rejection the customer
    can act on (do it again), and the failure counts for the liveness route's throttle."""
    live = liveness_of(provider)
    if live is None:
        return LivenessOutcome({"passed": False, "confidence": None, "available": False}, review=LIVENESS_UNAVAILABLE)
    link = next((plain(x) for x in record.document_links or [] if plain(x).get("kind") == "liveness"), None)
    if link is None or not link.get("session_id"):
        return LivenessOutcome({"passed": False, "confidence": None}, reject=LIVENESS_MISSING)
    session = str(link["session_id"])
    try:
        result = live.liveness_result(session)
    except UnusableInput as exc:
        return LivenessOutcome({"passed": False, "confidence": None}, reject=exc.reason)
    status, confidence = str(result.get("Status") or ""), float(result.get("Confidence") or 0.0)
    check = {"passed": False, "confidence": round(confidence, 2), "status": status}
    reference = (result.get("ReferenceImage") or {}).get("S3Object") or {}
    key = str(reference.get("Name") or "")
    if status != "SUCCEEDED" or confidence < min_confidence:
        from chalicelib.storage.liveness import record_failure

        record_failure(record.tenant, record.email, session)
        return LivenessOutcome(check, reject=NOT_COMPLETED if status != "SUCCEEDED" else LIVENESS_FAILED)
    if reference.get("Bucket") != settings().bucket or not key.startswith(liveness_prefix(record.tenant, record.email)):
        return LivenessOutcome(check, reject=NOT_OWN_SESSION)
    return LivenessOutcome({**check, "passed": True}, selfie={"evidence_key": key, "sha256": None})


class LivenessOutcome:
    def __init__(
        self,
        check: dict[str, Any],
        selfie: dict[str, Any] | None = None,
        reject: str | None = None,
        review: str | None = None,
    ) -> None:
        self.check, self.selfie, self.reject, self.review = check, selfie, reject, review

    def apply(self, decision: Decision) -> None:
        decision.checks = {**decision.checks, "liveness": self.check}
        if self.review:
            _add_review(decision, self.review)
