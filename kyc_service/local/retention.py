"""Retention on the local stack: the stage's S3 lifecycle expiration rules and DynamoDB TTL, read
from the one template (infra/resources.yaml, resolved with the stage's parameters), applied to the
embedded AWS by a sweeper, because moto runs neither.

The rules are AWS's: an object expires at the first midnight UTC after its last write plus the
rule's days; an item expires once its TTL attribute (epoch seconds) lies in the past. The clock is
injectable: tests move it forward instead of waiting. The local stack sweeps once a minute
(`LocalStack.sweep_interval`); nothing else deletes on that account.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kyc_service.infra.template import Resolver, resolver
from kyc_service.local.env import REGION, embedded_client

log = logging.getLogger("kyc_service.local.retention")
DAY = 24 * 3600


@dataclass(frozen=True)
class ExpiryRule:
    """An enabled S3 lifecycle rule that expires current objects under a prefix."""

    rule_id: str
    prefix: str
    days: int

    def expires_at(self, last_modified: dt.datetime) -> float:
        """S3's rule: the last write plus `days`, rounded up to the next midnight UTC."""
        moment = last_modified.astimezone(dt.UTC) + dt.timedelta(days=self.days)
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        if midnight < moment:
            midnight += dt.timedelta(days=1)
        return midnight.timestamp()


def expiry_rules(r: Resolver) -> list[ExpiryRule]:
    """The document bucket's expiration rules as the template defines them for the stage."""
    lifecycle = r.resolve(r.template["Resources"]["DocumentBucket"]["Properties"].get("LifecycleConfiguration", {}))
    rules = lifecycle.get("Rules", [])
    return [
        ExpiryRule(rule["Id"], rule.get("Prefix", ""), int(rule["ExpirationInDays"]))
        for rule in rules
        if rule.get("Status") == "Enabled" and "ExpirationInDays" in rule
    ]


def ttl_attributes(r: Resolver) -> dict[str, str]:
    """Table name -> TTL attribute, for every table whose TTL the template enables."""
    out = {}
    for logical, resource in r.template["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::Table":
            continue
        props = r.properties(logical)
        ttl = props.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled"):
            out[props["TableName"]] = ttl["AttributeName"]
    return out


class Sweeper:
    """Applies the stage's expiration rules and TTL to the embedded AWS at `endpoint`."""

    def __init__(
        self,
        endpoint: str,
        stage: str,
        parameters: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
        region: str = REGION,
    ):
        r = resolver(stage, region=region, **(parameters or {}))
        self.bucket = r.properties("DocumentBucket")["BucketName"]
        self.rules = expiry_rules(r)
        self.ttl = ttl_attributes(r)
        self.clock = clock
        self.s3 = embedded_client("s3", endpoint, region)
        self.ddb = embedded_client("dynamodb", endpoint, region)

    def sweep(self) -> dict[str, int]:
        """One pass: what each rule deleted (object counts by rule id, item counts by table)."""
        now = self.clock()
        done = {rule.rule_id: self._expire_objects(rule, now) for rule in self.rules}
        done.update({table: self._expire_items(table, attribute, now) for table, attribute in self.ttl.items()})
        if any(done.values()):
            log.info("retention: %s", ", ".join(f"{name} {n}" for name, n in done.items() if n))
        return done

    def _expire_objects(self, rule: ExpiryRule, now: float) -> int:
        expired = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=rule.prefix):
            expired += [
                {"Key": o["Key"]} for o in page.get("Contents", []) if rule.expires_at(o["LastModified"]) <= now
            ]
        for start in range(0, len(expired), 1000):
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": expired[start : start + 1000], "Quiet": True})
        return len(expired)

    def _expire_items(self, table: str, attribute: str, now: float) -> int:
        keys = [k["AttributeName"] for k in self.ddb.describe_table(TableName=table)["Table"]["KeySchema"]]
        names = {f"#k{i}": name for i, name in enumerate(keys)} | {"#ttl": attribute}
        count = 0
        for page in self.ddb.get_paginator("scan").paginate(
            TableName=table,
            FilterExpression="#ttl < :now",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":now": {"N": str(int(now))}},
            ProjectionExpression=", ".join(f"#k{i}" for i in range(len(keys))),
        ):
            for item in page.get("Items", []):
                self.ddb.delete_item(TableName=table, Key=item)
                count += 1
        return count


class SweeperThread:
    """Sweeps every `interval` seconds until stopped (the local stack runs one)."""

    def __init__(self, sweeper: Sweeper, interval: float = 60.0):
        self.sweeper, self.interval = sweeper, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)

    def start(self) -> SweeperThread:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweeper.sweep()
            except Exception as exc:  # noqa: BLE001 - moto stopping, a transient error: the next pass retries
                log.warning("retention sweep failed: %s", type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
