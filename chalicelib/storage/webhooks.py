"""A tenant's webhook: its endpoint, the events it wants, and its signing secret, stored
encrypted (events table, `tenant#{tenant}` / `webhook`).

The secret (`whsec_` + base64 of 32 random bytes, the Standard Webhooks form) is shown once, when
it is issued; the table keeps only its KMS ciphertext, encrypted under the stage's key
(`alias/{stage}-kyc-webhooks`) with the encryption context {service, purpose, tenant}: a
ciphertext copied to another tenant's item does not decrypt. After a rotation the previous
secret keeps signing (a second signature) for the stage's grace period, so receivers can switch
without losing deliveries.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist

from chalicelib import aws
from chalicelib.config import settings
from chalicelib.keys import TENANT_WEBHOOK_SK, tenant_config_pk
from chalicelib.storage.models import condition_failed, plain, tables

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
KNOWN_EVENTS = ("kyc.status_changed", "kyc.erased")  # the events a tenant may subscribe to


@dataclass(frozen=True)
class Webhook:
    tenant: str
    url: str
    events: tuple[str, ...]
    secret: str  # KMS ciphertext, base64
    created_time: int
    updated_time: int
    rotated_time: int | None = None
    previous_secret: str | None = None  # ciphertext of the secret before the last rotation
    previous_until: int | None = None  # it signs too until then

    def public(self, now: float | None = None) -> dict[str, Any]:
        """The webhook as GET shows it: never a secret."""
        now = time.time() if now is None else now
        grace = self.previous_until if self.previous_secret and (self.previous_until or 0) > now else None
        return {
            "url": self.url,
            "events": list(self.events),
            "created_time": self.created_time,
            "updated_time": self.updated_time,
            "secret_rotated_time": self.rotated_time,
            "previous_secret_expires_time": grace,
        }

    def signing_secrets(self, now: float | None = None) -> list[str]:
        """The secrets a delivery is signed with: the current one, and the previous one during
        its grace period."""
        now = time.time() if now is None else now
        out = [decrypt(self.tenant, self.secret)]
        if self.previous_secret and (self.previous_until or 0) > now:
            out.append(decrypt(self.tenant, self.previous_secret))
        return out


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _context(tenant: str) -> dict[str, str]:
    return {"service": "kyc-service", "purpose": "webhook-signing-secret", "tenant": tenant}


def encrypt(tenant: str, secret: str) -> str:
    blob = aws.client("kms").encrypt(
        KeyId=settings().integrations.webhook_key_alias,
        Plaintext=secret.encode("ascii"),
        EncryptionContext=_context(tenant),
    )["CiphertextBlob"]
    return base64.b64encode(blob).decode("ascii")


@lru_cache(maxsize=256)
def _decrypt(tenant: str, ciphertext: str, endpoint: str | None, region: str) -> str:
    plain_bytes = aws.client("kms").decrypt(
        CiphertextBlob=base64.b64decode(ciphertext), EncryptionContext=_context(tenant)
    )["Plaintext"]
    return bytes(plain_bytes).decode("ascii")


def decrypt(tenant: str, ciphertext: str) -> str:
    """The secret (cached per warm Lambda: one KMS call per secret, not per delivery)."""
    s = settings()
    return _decrypt(tenant, ciphertext, s.aws_endpoint, s.region)


def _from_item(tenant: str, data: dict[str, Any]) -> Webhook:
    def opt_int(name: str) -> int | None:
        value = data.get(name)
        return int(value) if value is not None else None

    return Webhook(
        tenant=tenant,
        url=str(data["url"]),
        events=tuple(str(e) for e in data.get("events") or ()),
        secret=str(data["secret"]),
        created_time=int(data["created_time"]),
        updated_time=int(data["updated_time"]),
        rotated_time=opt_int("rotated_time"),
        previous_secret=data.get("previous_secret"),
        previous_until=opt_int("previous_until"),
    )


def _item_data(hook: Webhook) -> dict[str, Any]:
    return {
        "url": hook.url,
        "events": list(hook.events),
        "secret": hook.secret,
        "created_time": hook.created_time,
        "updated_time": hook.updated_time,
        "rotated_time": hook.rotated_time,
        "previous_secret": hook.previous_secret,
        "previous_until": hook.previous_until,
    }


def get(tenant: str) -> Webhook | None:
    try:
        item = tables().events.get(tenant_config_pk(tenant), TENANT_WEBHOOK_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return _from_item(tenant, plain(item.data))


def _save(hook: Webhook) -> None:
    tables().events(
        tenant_config_pk(hook.tenant),
        TENANT_WEBHOOK_SK,
        kind="webhook",
        created_time=hook.created_time,
        data=_item_data(hook),
    ).save()


def register(tenant: str, url: str, events: tuple[str, ...]) -> tuple[Webhook, str, bool]:
    """Create or replace the tenant's webhook with a new secret: (webhook, secret, created)."""
    now = int(time.time())
    existing = get(tenant)
    secret = new_secret()
    hook = Webhook(
        tenant=tenant,
        url=url,
        events=events,
        secret=encrypt(tenant, secret),
        created_time=existing.created_time if existing else now,
        updated_time=now,
        rotated_time=now if existing else None,
    )
    _save(hook)
    return hook, secret, existing is None


def rotate(tenant: str) -> tuple[Webhook, str] | None:
    """A new secret; the previous one keeps signing for the stage's grace period."""
    existing = get(tenant)
    if existing is None:
        return None
    now = int(time.time())
    secret = new_secret()
    grace = settings().integrations.rotation_grace
    hook = Webhook(
        tenant=tenant,
        url=existing.url,
        events=existing.events,
        secret=encrypt(tenant, secret),
        created_time=existing.created_time,
        updated_time=now,
        rotated_time=now,
        previous_secret=existing.secret if grace > 0 else None,
        previous_until=now + grace if grace > 0 else None,
    )
    _save(hook)
    return hook, secret


def remove(tenant: str) -> bool:
    """Delete the tenant's webhook; False when there was none."""
    events = tables().events
    try:
        events(tenant_config_pk(tenant), TENANT_WEBHOOK_SK).delete(condition=events.pk.exists())
    except DeleteError as exc:
        if condition_failed(exc):
            return False
        raise
    return True
