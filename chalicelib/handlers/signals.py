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
from chalicelib.domain.quality import DUPLICATE_REASON, LIVENESS_UNAVAILABLE, combine
from chalicelib.keys import evidence_key, owner_ref
from chalicelib.logs import logger, ref
from chalicelib.providers.port import ImageRef, VerificationProvider, face_index, liveness_of
from chalicelib.storage import duplicates, faces
from chalicelib.storage.models import KycRecordBase, plain


def _selfie(record: KycRecordBase) -> dict[str, Any] | None:
    for link in map(plain, record.document_links or []):
        if link.get("kind") == "selfie" and link.get("evidence_key"):
            return link
    return None


def _add_review(decision: Decision, reason: str) -> None:
    decision.reasons = [*decision.reasons, f"{reason} (review)"]
    decision.status = combine(decision.status, review=True)


# -- the duplicate check -----------------------------------------------------------------------


def duplicate_check(record: KycRecordBase, provider: VerificationProvider, threshold: float) -> dict[str, Any]:
    """The `duplicate` check: the same face (at least `threshold`, the tenant's review threshold, on
    the 1:1 scale) among the tenant's indexed faces, and the same ID number on another verified
    customer of the tenant. The customer's own entries never count."""
    own = owner_ref(record.email)
    matched: dict[tuple[str, str], dict[str, Any]] = {}
    searcher, selfie = face_index(provider), _selfie(record)
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
    check = duplicate_check(record, provider, threshold)
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


def apply_liveness(decision: Decision, provider: VerificationProvider) -> None:
    """A tenant that requires liveness, on a provider without a liveness engine: the decision
    says so and asks for review (never a silent pass)."""
    if liveness_of(provider) is None:
        decision.checks = {**decision.checks, "liveness": {"passed": False, "confidence": None, "available": False}}
        _add_review(decision, LIVENESS_UNAVAILABLE)
