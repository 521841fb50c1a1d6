"""A tenant's rules (GET/PUT .../settings): stored in the events table, read by the API
(accepted_id_types) and by the verifier (thresholds, licence check, max_attempts) for every
decision. Unset ones follow the stage's config (chalicelib/config.py)."""

from __future__ import annotations

import time
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.config import ID_TYPES, Settings, settings
from chalicelib.domain.tenant_rules import StagePolicy, TenantRules
from chalicelib.errors import InvalidInput
from chalicelib.keys import TENANT_SETTINGS_SK, tenant_config_pk
from chalicelib.storage.models import plain, tables


def stage_policy(s: Settings | None = None) -> StagePolicy:
    """The stage's defaults and safe bounds of every tenant setting."""
    s = s or settings()
    i = s.integrations
    return StagePolicy(
        verify_threshold=s.verify_threshold,
        review_threshold=s.review_threshold,
        clear_confidence=s.clear_confidence,
        require_liveness=i.require_liveness,
        require_license_check=i.require_license_check,
        duplicate_check=i.duplicate_check,
        max_attempts=i.max_attempts,
        accepted_id_types=i.accepted_id_types,
        id_types=ID_TYPES,
        verify_bounds=i.verify_threshold_bounds,
        review_bounds=i.review_threshold_bounds,
    )


def load_overrides(tenant: str) -> dict[str, Any]:
    """What the tenant set ({} when nothing)."""
    try:
        item = tables().events.get(tenant_config_pk(tenant), TENANT_SETTINGS_SK, consistent_read=True)
    except DoesNotExist:
        return {}
    return _plain_values(plain(item.data).get("values"))


def _plain_values(values: Any) -> dict[str, Any]:
    from decimal import Decimal

    out: dict[str, Any] = {}
    for name, value in (plain(values) if values is not None else {}).items():
        if isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
            value = int(value) if name == "max_attempts" else float(value)
        elif isinstance(value, (list, set, tuple)):
            value = [str(v) for v in value]
        out[name] = value
    return out


def tenant_rules(tenant: str) -> TenantRules:
    """The rules the tenant's next decision applies."""
    return TenantRules.of(stage_policy(), load_overrides(tenant))


def save_overrides(tenant: str, overrides: dict[str, Any]) -> TenantRules:
    """Replace the tenant's settings (validated already: domain/tenant_rules.parse_overrides)."""
    tables().events(
        tenant_config_pk(tenant),
        TENANT_SETTINGS_SK,
        kind="tenant_settings",
        created_time=int(time.time()),
        data={"values": dict(overrides)},
    ).save()
    return TenantRules.of(stage_policy(), overrides)


def require_accepted_id_type(tenant: str, id_type: str) -> None:
    """create_or_update: a 400 for an id_type the tenant does not accept."""
    rules = tenant_rules(tenant)
    if not rules.accepts(id_type):
        accepted = ", ".join(rules.values["accepted_id_types"])
        raise InvalidInput(
            f"this tenant accepts only these id types: {accepted}", [{"field": "id_type", "problem": "not_accepted"}]
        )
