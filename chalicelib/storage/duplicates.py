"""The same ID number held by another customer of the tenant: the KYC table's `tenant-id-number`
index (infra/resources.yaml), partition `tenant#id` (keys.id_number_key), which every save sets.

Only verified holders count (an impostor who typed someone's number cannot block them; the
index projects `validation_status`). The tenant is part of the key: a Query never reads another
tenant's records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.domain.matching import normalize_id_number
from chalicelib.keys import id_number_key, owner_ref, record_pk

ID_NUMBER_INDEX = "tenant-id-number"
ID_NUMBER_KEY = "tenant#id"  # the attribute (models.KycRecordBase.id_number_key)
VERIFIED = "verified"

if TYPE_CHECKING:
    from chalicelib.storage.models import KycRecordBase


def record_id_key(tenant: str, id_type: str, id_value: str) -> str:
    return id_number_key(tenant, id_type, normalize_id_number(id_value))


def verified_holders(tenant: str, id_type: str, id_value: str, email: str) -> list[tuple[str, str]]:
    """(e-mail, id_type#id) of the tenant's verified records with this ID number under another e-mail."""
    ddb, table = aws.client("dynamodb"), settings().table_name
    args = {
        "TableName": table,
        "IndexName": ID_NUMBER_INDEX,
        "KeyConditionExpression": "#k = :k",
        "ExpressionAttributeNames": {"#k": ID_NUMBER_KEY},
        "ExpressionAttributeValues": {":k": {"S": record_id_key(tenant, id_type, id_value)}},
    }
    own, found = record_pk(tenant, email), []
    for page in ddb.get_paginator("query").paginate(**args):
        for item in page.get("Items", []):
            pk, sk = item["tenant#email"]["S"], item["id_type#id"]["S"]
            status = (item.get("validation_status") or {}).get("S")
            if pk != own and pk.startswith(tenant + "#") and status == VERIFIED:
                found.append((pk[len(tenant) + 1 :], sk))
    return found


def public_duplicate(check: dict[str, Any]) -> dict[str, Any]:
    """What a customer sees of the check: whether it passed and how many matched, nothing else."""
    return {k: check[k] for k in ("passed", "matches") if k in check}


def resolve_matches(record: KycRecordBase, check: dict[str, Any]) -> list[dict[str, Any]]:
    """An admin's view of the matched customers: e-mail and record key where they are still known
    (an erased customer, or one no longer verified, resolves to `{"via", "found": false}`)."""
    matched = [m for m in check.get("matched") or [] if isinstance(m, dict)]
    from chalicelib.storage import faces

    entries = faces.by_owner(record.tenant, {m["ref"] for m in matched if m.get("via") == "face"})
    holders = {
        owner_ref(email): (email, sk)
        for email, sk in verified_holders(record.tenant, record.id_type, record.id_value, record.email)
    }
    out = []
    for m in matched:
        base = {"via": m.get("via"), **({"similarity": m["similarity"]} if "similarity" in m else {})}
        if m.get("via") == "face" and entries.get(m["ref"]):
            out += [{**base, "email": e.email, "record": e.record, "found": True} for e in entries[m["ref"]]]
        elif m.get("via") == "id_number" and m["ref"] in holders:
            out.append({**base, "email": holders[m["ref"]][0], "record": holders[m["ref"]][1], "found": True})
        else:
            out.append({**base, "found": False})
    return out
