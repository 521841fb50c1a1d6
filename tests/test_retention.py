"""Retention on the local stack (kyc_service/local/retention.py): the lifecycle rules and TTL of the
one template, applied by a sweeper whose clock the tests move (moto runs neither)."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from kyc_service.infra.template import resolver
from kyc_service.local.retention import ExpiryRule, Sweeper, expiry_rules, ttl_attributes

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
DAY = 24 * 3600


def test_rules_are_read_from_the_template_with_the_stage_parameters():
    r = resolver("prod", UploadExpirationDays=1, DocumentRetentionDays=1825, BiometricRetentionDays=1095)
    rules = {rule.prefix: rule.days for rule in expiry_rules(r)}
    assert rules == {
        "zipped/": 7,
        "unzipped/": 7,
        "uploads/": 1,
        "evidence/documents/": 1825,
        "evidence/biometric/": 1095,
    }
    assert ttl_attributes(r) == {"prod_kyc_events": "expires_at"}


@pytest.mark.parametrize(
    "written,days,expires",
    [
        ("2026-11-22T05:00:00+00:00", 1, "2026-11-24T00:00:00+00:00"),  # + 1 day, then the next midnight
        ("2026-11-22T00:00:00+00:00", 1, "2026-11-23T00:00:00+00:00"),  # already a midnight
        ("2026-11-22T23:59:59+00:00", 30, "2026-12-23T00:00:00+00:00"),
    ],
)
def test_objects_expire_at_the_midnight_after_their_days(written, days, expires):
    rule = ExpiryRule("r", "uploads/", days)
    assert rule.expires_at(dt.datetime.fromisoformat(written)) == dt.datetime.fromisoformat(expires).timestamp()


def test_the_sweeper_expires_uploads_then_evidence_and_ttl_items_as_the_clock_moves(stage):
    from chalicelib.config import settings
    from chalicelib.stage import stage_environment
    from kyc_service.local.resources import local_parameters

    bucket, events = stage.outputs["DocumentBucketName"], settings().events_table_name
    keys = {
        "upload": "uploads/sweep/0123456789abcdef/selfie/a.png",
        "document": "evidence/documents/sweep/0123456789abcdef/" + "a" * 64 + ".png",
        "biometric": "evidence/biometric/sweep/0123456789abcdef/" + "b" * 64 + ".png",
        "bundle": "zipped/sweep/0b1c.zip",
        "tenant": "tenants/sweep/kept.png",
    }
    for key in keys.values():
        stage.s3.put_object(Bucket=bucket, Key=key, Body=PNG, ContentType="image/png")
    now = time.time()
    for sk, expires in (("soon", now + 3600), ("later", now + 40 * DAY), ("never", None)):
        item = {"pk": {"S": "sweep#test"}, "sk": {"S": sk}, "kind": {"S": "t"}, "created_time": {"N": "1"}}
        if expires:
            item["expires_at"] = {"N": str(int(expires))}
        stage.ddb.put_item(TableName=events, Item=item)

    def left(clock: float) -> set[str]:
        Sweeper(stage.endpoint, "local", local_parameters(), clock=lambda: clock).sweep()
        objects = {
            name for name, key in keys.items() if stage.s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount")
        }
        items = {
            i["sk"]["S"]
            for i in stage.ddb.query(
                TableName=events,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": "sweep#test"}},
            )["Items"]
        }
        return objects | items

    everything = set(keys) | {"soon", "later", "never"}
    assert left(now) == everything
    assert left(now + 2 * DAY) == everything - {"upload", "soon"}
    assert left(now + 8 * DAY) == everything - {"upload", "soon", "bundle"}
    env = stage_environment("local")
    assert int(env["KYC_DOCUMENT_RETENTION_DAYS"]) == int(env["KYC_BIOMETRIC_RETENTION_DAYS"]) == 30
    assert left(now + 32 * DAY) == {"tenant", "later", "never"}
    assert left(now + 41 * DAY) == {"tenant", "never"}
