"""The S3 intake: a bundle read from the bucket becomes a record through the record store, or is
refused with its reason next to it (`zipped/{tenant}/{app_uuid}.rejected.json`)."""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from chalicelib.bundles import archive
from chalicelib.bundles.archive import Bundle, BundleRefused
from chalicelib.bundles.details import override_of, parse_details, to_submission
from chalicelib.errors import DecisionFinal, InvalidInput
from chalicelib.http.validation import check_tenant
from chalicelib.keys import ZIPPED, bundle_documents_prefix, bundle_members_prefix, is_bundle_key, rejection_key
from chalicelib.logs import logger, ref
from chalicelib.storage.events import remember_override

if TYPE_CHECKING:
    from chalicelib.config import Settings
    from chalicelib.storage.records import RecordStore


def parse_key(key: str) -> tuple[str, str]:
    """(tenant, app_uuid) of `zipped/{tenant}/{app_uuid}.zip`, or BundleRefused."""
    parts = key.split("/") if key.startswith(ZIPPED) and key.endswith(".zip") else []
    if len(parts) != 3:
        raise BundleRefused("bad_key", "the object key is not zipped/{tenant}/{app_uuid}.zip")
    tenant, app_uuid = parts[1], parts[2][: -len(".zip")]
    try:
        check_tenant(tenant)
    except InvalidInput as exc:
        raise BundleRefused("bad_key", exc.message) from None
    if not is_bundle_key(app_uuid):
        raise BundleRefused("bad_key", "app_uuid must be 1-64 letters, digits, '-' or '_'")
    return tenant, app_uuid


def document_key(bundle: Bundle, kind: str) -> str:
    """The record's copy of an image, named by its content: new images make new keys (so a
    changed bundle is a new submission, verified again); a redelivered bundle maps onto the
    same keys (no change)."""
    ext = {"image/png": ".png", "image/jpeg": ".jpg"}
    member = bundle.members["license" if kind == "id_front" else "selfie"]
    digest = hashlib.sha256(member.data).hexdigest()[:16]
    return f"{bundle_documents_prefix(bundle.tenant, bundle.app_uuid)}{digest}/{kind}{ext[member.content_type]}"


# -- the intake ----------------------------------------------------------------------


class Intake:
    """Reads a bundle from the bucket and turns it into a record, or refuses it."""

    def __init__(self, s3: Any, store: RecordStore, settings: Settings, bucket: str):
        self.s3, self.store, self.settings, self.bucket = s3, store, settings, bucket

    def _download(self, key: str) -> bytes:
        obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        if int(obj.get("ContentLength") or 0) > archive.MAX_ZIP_BYTES:
            obj["Body"].close()
            raise BundleRefused("zip_too_large", f"the bundle is larger than {archive.MAX_ZIP_BYTES} bytes")
        data: bytes = obj["Body"].read(archive.MAX_ZIP_BYTES + 1)
        obj["Body"].close()
        return data

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def _exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except self.s3.exceptions.ClientError:
            return False

    def _store(self, bundle: Bundle) -> list[str]:
        """Write the members and the record's copies; return the keys this run created
        (objects that already existed, e.g. linked by an accepted earlier intake, are not ours)."""
        writes = [(bundle_members_prefix(bundle.tenant, bundle.app_uuid) + m.name, m) for m in bundle.members.values()]
        writes += [
            (document_key(bundle, kind), bundle.members["license" if kind == "id_front" else "selfie"])
            for kind in ("id_front", "selfie")
        ]
        created = []
        for key, m in writes:
            if not self._exists(key):
                created.append(key)
            self._put(key, m.data, m.content_type)
        return created

    def _remove(self, keys: list[str]) -> None:
        if keys:
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})

    def refuse(self, tenant: str, app_uuid: str, key: str, exc: BundleRefused) -> dict[str, Any]:
        report = {
            "status": "refused",
            "tenant": tenant,
            "app_uuid": app_uuid,
            "bundle": key,
            "code": exc.code,
            "reason": exc.message,
            "details": exc.details,
            "refused_at": int(time.time()),
        }
        target = rejection_key(key)
        if target:
            self._put(target, json.dumps(report).encode(), "application/json")
        logger().warning("bundle refused", extra={"bundle": ref(key), "tenant": tenant, "code": exc.code})
        return report

    def run(self, key: str) -> dict[str, Any]:
        tenant = app_uuid = ""
        written: list[str] = []  # the objects this run created (removed again if it fails)
        try:
            tenant, app_uuid = parse_key(key)
            bundle = archive.read_zip(self._download(key), tenant, app_uuid)
            row = parse_details(bundle.members["details"].data)
            links = [
                {"kind": kind, "key": document_key(bundle, kind), "filename": bundle.members[m].name}
                for kind, m in (("id_front", "license"), ("selfie", "selfie"))
            ]
            submission, override = to_submission(row, links, tenant, app_uuid, self.settings), override_of(row)
            written = self._store(bundle)
            remember_override(tenant, app_uuid, override)
            record, new_record, changed = self.store.save(tenant, submission, source="bundle", app_uuid=app_uuid)
        except (BundleRefused, InvalidInput, DecisionFinal) as exc:
            self._remove(written)
            if isinstance(exc, DecisionFinal):  # an admin's final rejection of this customer stands
                exc = BundleRefused("decision_final", exc.message)
            elif isinstance(exc, InvalidInput):
                exc = BundleRefused("invalid_details", exc.message, exc.details)
            return self.refuse(tenant, app_uuid, key, exc)
        except Exception:
            self._remove(written)  # nothing half-written: the retry stores them again
            raise
        self.s3.delete_object(Bucket=self.bucket, Key=rejection_key(key))
        logger().info(
            "bundle accepted",
            extra={
                "bundle": ref(key),
                "tenant": tenant,
                "record": ref(record.pk, record.sk),
                "new_record": new_record,
                "changed": changed,
            },
        )
        return {"status": "accepted", "tenant": tenant, "app_uuid": app_uuid, "created": new_record, "changed": changed}
