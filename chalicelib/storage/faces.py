"""The face registry: which verified records of a tenant have a face stored for the duplicate
search, and where (issue 16; docs/verification.md).

One item per verified record in the events table, partition `faces#{tenant}` (never shared
between tenants), sort key `{owner}#{record}` (chalicelib/keys.py). An item holds the customer's
e-mail and record key (what the review routes show an admin, and what erasure finds), the selfie's
SHA-256 (indexing the same selfie again changes nothing: stream records come at least once), and
either Rekognition's face ids and collection (AWS) or the dlib embedding (self-hosted).

Only a verified decision registers a face; any other decision of the record removes it
(handlers/duplicates.py). Erasure removes every item of the customer and their collection faces
(`erase_faces`, a step of storage/erasure.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib import aws
from chalicelib.keys import face_registry_pk, face_registry_sk, owner_ref
from chalicelib.logs import logger
from chalicelib.providers.port import IndexedFace, StoredFace
from chalicelib.storage.models import plain, tables

KIND = "face"


@dataclass(frozen=True)
class Entry:
    sk: str
    email: str
    record: str  # the record's id_type#id
    selfie_sha256: str
    face_ids: tuple[str, ...]
    collection: str | None
    embedding: str | None

    @property
    def owner(self) -> str:
        return self.sk.split("#", 1)[0]


def _entry(item: Any) -> Entry:
    data = plain(item.data)
    return Entry(
        sk=item.sk,
        email=str(data.get("email") or ""),
        record=str(data.get("record") or ""),
        selfie_sha256=str(data.get("selfie_sha256") or ""),
        face_ids=tuple(str(f) for f in data.get("face_ids") or []),
        collection=data.get("collection") or None,
        embedding=data.get("embedding") or None,
    )


def get(tenant: str, email: str, record_sk: str) -> Entry | None:
    try:
        item = tables().events.get(face_registry_pk(tenant), face_registry_sk(email, record_sk), consistent_read=True)
    except DoesNotExist:
        return None
    return _entry(item)


def register(tenant: str, email: str, record_sk: str, selfie_sha256: str, face: IndexedFace) -> None:
    tables().events(
        face_registry_pk(tenant),
        face_registry_sk(email, record_sk),
        kind=KIND,
        created_time=int(time.time()),
        data={
            "email": email,
            "record": record_sk,
            "selfie_sha256": selfie_sha256,
            "face_ids": list(face.face_ids),
            "collection": face.collection,
            "embedding": face.embedding,
        },
    ).save()


def entries(tenant: str) -> Iterator[Entry]:
    """Every registered face of the tenant (the self-hosted search reads them all)."""
    for item in tables().events.query(face_registry_pk(tenant)):
        yield _entry(item)


def stored_embeddings(tenant: str) -> Iterator[StoredFace]:
    for entry in entries(tenant):
        if entry.embedding:
            yield StoredFace(entry.owner, entry.embedding)


def of_customer(tenant: str, email: str) -> list[Entry]:
    events = tables().events
    return [
        _entry(item)
        for item in events.query(
            face_registry_pk(tenant), events.sk.startswith(owner_ref(email) + "#"), consistent_read=True
        )
    ]


def by_owner(tenant: str, owners: set[str]) -> dict[str, list[Entry]]:
    """The registry entries of these owner references (an admin's view of a duplicate)."""
    events, found = tables().events, {}
    for owner in sorted(owners):
        found[owner] = [
            _entry(item) for item in events.query(face_registry_pk(tenant), events.sk.startswith(owner + "#"))
        ]
    return found


def delete_collection_faces(collection: str | None, face_ids: tuple[str, ...]) -> None:
    """Rekognition DeleteFaces; a collection that is gone has nothing left to delete."""
    if not collection or not face_ids:
        return
    rekognition = aws.client("rekognition")
    try:
        rekognition.delete_faces(CollectionId=collection, FaceIds=list(face_ids))
    except rekognition.exceptions.ResourceNotFoundException:
        logger().info("face collection not found; nothing to delete")


def remove(tenant: str, entry: Entry) -> None:
    """The entry's stored faces, then the entry (a retry after a failure finds the entry again)."""
    delete_collection_faces(entry.collection, entry.face_ids)
    tables().events(face_registry_pk(tenant), entry.sk).delete()


def erase_faces(tenant: str, email: str) -> dict[str, int]:
    """The erasure step: every face of the customer, in the collection and in the registry."""
    found = of_customer(tenant, email)
    for entry in found:
        remove(tenant, entry)
    return {"faces": len(found)}


def faces_remain(tenant: str, email: str) -> bool:
    return bool(of_customer(tenant, email))
