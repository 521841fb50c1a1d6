"""A stage's AWS resources: ONE definition (infra/resources.yaml), read and resolved here for
every use (deployments, the local stack, the IAM policy, the tests).

* `load_template()` reads infra/resources.yaml (plain YAML, long-form intrinsics).
* `resolver(stage)` evaluates its intrinsic functions for a stage's parameter values.
* `table_definitions(stage)` gives the three tables as the template defines them;
  `create_tables(ddb, stage)` creates just those (in-process moto: tests, benchmarks).
"""

from __future__ import annotations

import os
import re
from typing import Any

from chalicelib.stage import ROOT, resource_names

TEMPLATE_PATH = ROOT / "infra" / "resources.yaml"
# Template parameters a stage sets in .chalice/config.json, as environment variables there (the
# retention periods, docs/privacy.md); deployments pass them, the local stack resolves with them.
STAGE_PARAMETERS = {
    "UploadExpirationDays": "KYC_UPLOAD_EXPIRATION_DAYS",
    "DocumentRetentionDays": "KYC_DOCUMENT_RETENTION_DAYS",
    "BiometricRetentionDays": "KYC_BIOMETRIC_RETENTION_DAYS",
    "UploadCorsOrigins": "KYC_UPLOAD_CORS_ORIGINS",  # browser origins of presigned POST uploads
    "KmsKeyArn": "KYC_KMS_KEY_ARN",  # the optional customer-managed key of the stage's data
}


def stage_parameters(environment: dict[str, str]) -> dict[str, str]:
    """The template parameters a stage's environment variables set (STAGE_PARAMETERS)."""
    return {param: str(environment[var]) for param, var in STAGE_PARAMETERS.items() if environment.get(var)}


def load_template(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    import yaml

    with open(path or TEMPLATE_PATH, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def stack_name(stage: str) -> str:
    return resource_names(stage).stack


class Resolver:
    """Evaluates the template's intrinsic functions for known parameter values.

    `refs` maps logical id -> what Ref returns, `attrs` maps (logical id, attribute)
    -> what Fn::GetAtt returns. Unknown references raise KeyError.
    """

    def __init__(
        self, template: dict, params: dict[str, Any], region: str = "us-east-1", account: str = "123456789012"
    ):
        self.template = template
        self.params = {}
        for name, spec in template.get("Parameters", {}).items():
            value = params.get(name, spec.get("Default"))
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = [v.strip() for v in value.split(",")]
            self.params[name] = value
        self.refs: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        self.attrs: dict[tuple[str, str], Any] = {}
        self.lenient = False
        self.conditions = {name: self._eval(expr) for name, expr in template.get("Conditions", {}).items()}

    def _eval(self, expr: Any) -> Any:
        return self.resolve(expr)

    def active(self, logical_id: str) -> bool:
        cond = self.template["Resources"][logical_id].get("Condition")
        return cond is None or bool(self.conditions[cond])

    def lookup(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        if self.lenient and name not in self.refs and name in self.template.get("Resources", {}):
            return {"Ref": name}  # left for CloudFormation
        return self.refs[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.lookup(arg)
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                if self.lenient and (logical, attr) not in self.attrs:
                    return value  # left for CloudFormation
                return self.attrs[(logical, attr)]
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else arg
                extra = {k: self.resolve(v) for k, v in extra.items()}

                def sub(m: re.Match) -> str:
                    name = m.group(1)
                    if name in extra:
                        return str(extra[name])
                    if "." in name and not name.startswith("AWS::"):
                        logical, attr = name.split(".", 1)
                        return str(self.attrs[(logical, attr)])
                    return str(self.lookup(name))

                return re.sub(r"\$\{([^}!]+)\}", sub, text)
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.conditions[cond] else no)
            if key == "Fn::Equals":
                a, b = (self.resolve(x) for x in arg)
                return a == b
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(x) for x in self.resolve(items))
            if key == "Condition":
                return self.conditions[arg]
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not None}  # AWS::NoValue drops the property

    def properties(self, logical_id: str) -> dict:
        return self.resolve(self.template["Resources"][logical_id].get("Properties", {}))


def resolver(
    stage: str, region: str = "us-east-1", account: str = "123456789012", template: dict | None = None, **params: Any
) -> Resolver:
    params = {k: v for k, v in params.items() if v is not None}
    params["Stage"] = stage
    return Resolver(template or load_template(), params, region=region, account=account)


def table_definitions(stage: str, **params: Any) -> list[dict]:
    """The three tables as infra/resources.yaml defines them for `stage`.

    Each: TableName, KeySchema, AttributeDefinitions, BillingMode, StreamViewType
    (or None), GlobalSecondaryIndexes, LocalSecondaryIndexes, TimeToLiveAttribute,
    SSEEnabled, PointInTimeRecoveryEnabled, LogicalId.
    """
    r = resolver(stage, **params)
    out = []
    for logical, res in r.template["Resources"].items():
        if res["Type"] != "AWS::DynamoDB::Table":
            continue
        p = r.properties(logical)
        ttl = p.get("TimeToLiveSpecification") or {}
        out.append(
            {
                "LogicalId": logical,
                "TableName": p["TableName"],
                "KeySchema": p["KeySchema"],
                "AttributeDefinitions": p["AttributeDefinitions"],
                "BillingMode": p.get("BillingMode", "PROVISIONED"),
                "StreamViewType": (p.get("StreamSpecification") or {}).get("StreamViewType"),
                "GlobalSecondaryIndexes": p.get("GlobalSecondaryIndexes", []),
                "LocalSecondaryIndexes": p.get("LocalSecondaryIndexes", []),
                "TimeToLiveAttribute": ttl.get("AttributeName") if ttl.get("Enabled") else None,
                "SSEEnabled": bool((p.get("SSESpecification") or {}).get("SSEEnabled")),
                "PointInTimeRecoveryEnabled": bool(
                    (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
                ),
            }
        )
    return out


def describe_tables(ddb, names: list[str]) -> list[dict]:
    """Live tables in the shape of table_definitions (for comparing the two)."""
    out = []
    for name in names:
        t = ddb.describe_table(TableName=name)["Table"]
        ttl = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        stream = t.get("StreamSpecification") or {}

        def idx(items):
            return [
                {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i.get("Projection")}
                for i in items or []
            ]

        out.append(
            {
                "TableName": t["TableName"],
                "KeySchema": t["KeySchema"],
                "AttributeDefinitions": t["AttributeDefinitions"],
                "BillingMode": (t.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
                "StreamViewType": stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
                "GlobalSecondaryIndexes": idx(t.get("GlobalSecondaryIndexes")),
                "LocalSecondaryIndexes": idx(t.get("LocalSecondaryIndexes")),
                "TimeToLiveAttribute": ttl.get("AttributeName")
                if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
                else None,
                "SSEEnabled": (t.get("SSEDescription") or {}).get("Status") in ("ENABLED", "ENABLING"),
                "PointInTimeRecoveryEnabled": pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
                == "ENABLED",
            }
        )
    return out


def create_tables(ddb, stage: str) -> list[str]:
    """Create just the stage's tables from the definition (in-process moto: tests, benchmarks)."""
    names = []
    for t in table_definitions(stage):
        kw = {
            "TableName": t["TableName"],
            "KeySchema": t["KeySchema"],
            "AttributeDefinitions": t["AttributeDefinitions"],
            "BillingMode": t["BillingMode"],
        }
        if t["StreamViewType"]:
            kw["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": t["StreamViewType"]}
        if t["GlobalSecondaryIndexes"]:
            kw["GlobalSecondaryIndexes"] = t["GlobalSecondaryIndexes"]
        ddb.create_table(**kw)
        names.append(t["TableName"])
    return names


def stack_status(cfn: Any, name: str) -> str | None:
    """A CloudFormation stack's status, None when it does not exist."""
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except Exception:  # noqa: BLE001 - ValidationError: stack does not exist
        return None
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return live[0]["StackStatus"] if live else None
