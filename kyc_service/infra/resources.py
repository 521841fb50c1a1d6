"""A stage's AWS resources: ONE definition (infra/resources.yaml), used everywhere.

* `load_template()` reads infra/resources.yaml (plain YAML, long-form intrinsics).
* `table_definitions(stage)` gives the three tables as the template defines them.
* `create_local_resources(endpoint_url, stage)` deploys that same template into moto
  server with CloudFormation `create_stack`, then applies with boto3, read out of the
  same template, what moto's CloudFormation does not implement (see MOTO_CFN_GAPS).
  Idempotent: run it again (or after a restart of a persisted moto) and it only
  re-applies settings.
* `iam_policy(stage, ...)` renders the Lambda execution policy of a stage; the
  checked-in .chalice/policy-<stage>.json files are its output with CloudFormation
  pseudo-parameter placeholders (`${AWS::Region}`, `${AWS::AccountId}`,
  `${UserPoolId}`), which kyc_service.infra.deploy resolves (Fn::Sub in the SAM template,
  real values for `chalice deploy`).
"""
from __future__ import annotations

import copy
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from chalicelib.stage import ROOT, resource_names, stage_environment

TEMPLATE_PATH = ROOT / "infra" / "resources.yaml"
POLICY_DIR = ROOT / ".chalice"
DEPLOYED_STAGES = ("dev", "beta", "prod")
TABLE_LOGICAL_IDS = ("KycTable", "IdentityTable", "EventsTable")

# What moto 5.2.5's CloudFormation does not create, and create_local_resources
# therefore applies with boto3 from the same template properties.
MOTO_CFN_GAPS = {
    # SSESpecification: moto keeps it but does not report it, and cannot set it
    # afterwards (tables created by the boto3 fallback get SSESpecification.Enabled).
    "AWS::DynamoDB::Table": ["PointInTimeRecoverySpecification", "TimeToLiveSpecification",
                             "SSESpecification (not reported by moto)"],
    "AWS::S3::Bucket": ["PublicAccessBlockConfiguration", "LifecycleConfiguration",
                        "CorsConfiguration", "OwnershipControls"],
    "AWS::S3::BucketPolicy": ["(whole resource type)"],
    "AWS::Cognito::UserPool": ["(whole resource type)"],
    "AWS::Cognito::UserPoolClient": ["(whole resource type)"],
    "AWS::Cognito::UserPoolGroup": ["(whole resource type)"],
}


# ---------------------------------------------------------------- the template

def load_template(path: str | os.PathLike | None = None) -> dict:
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

    def __init__(self, template: dict, params: dict[str, Any], region: str = "us-east-1",
                 account: str = "123456789012"):
        self.template = template
        self.params = {}
        for name, spec in template.get("Parameters", {}).items():
            value = params.get(name, spec.get("Default"))
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = [v.strip() for v in value.split(",")]
            self.params[name] = value
        self.refs: dict[str, Any] = {"AWS::Region": region, "AWS::AccountId": account,
                                     "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com",
                                     "AWS::NoValue": None}
        self.attrs: dict[tuple[str, str], Any] = {}
        self.lenient = False
        self.conditions = {name: self._eval(expr)
                           for name, expr in template.get("Conditions", {}).items()}

    def _eval(self, expr: Any) -> Any:
        return self.resolve(expr)

    def active(self, logical_id: str) -> bool:
        cond = self.template["Resources"][logical_id].get("Condition")
        return cond is None or bool(self.conditions[cond])

    def lookup(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        return self.refs[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
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
            if key == "Fn::Join":
                sep, items = arg
                return sep.join(str(x) for x in self.resolve(items))
            if key == "Condition":
                return self.conditions[arg]
        return {k: self.resolve(v) for k, v in value.items()}

    def properties(self, logical_id: str) -> dict:
        return self.resolve(self.template["Resources"][logical_id].get("Properties", {}))


def resolver(stage: str, region: str = "us-east-1", account: str = "123456789012",
             template: dict | None = None, **params: Any) -> Resolver:
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
        out.append({
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
                (p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")),
        })
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
            return [{"IndexName": i["IndexName"], "KeySchema": i["KeySchema"],
                     "Projection": i.get("Projection")} for i in items or []]
        out.append({
            "TableName": t["TableName"],
            "KeySchema": t["KeySchema"],
            "AttributeDefinitions": t["AttributeDefinitions"],
            "BillingMode": (t.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
            "StreamViewType": stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
            "GlobalSecondaryIndexes": idx(t.get("GlobalSecondaryIndexes")),
            "LocalSecondaryIndexes": idx(t.get("LocalSecondaryIndexes")),
            "TimeToLiveAttribute": ttl.get("AttributeName")
            if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") else None,
            "SSEEnabled": (t.get("SSEDescription") or {}).get("Status") in ("ENABLED", "ENABLING"),
            "PointInTimeRecoveryEnabled":
                pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED",
        })
    return out


# ------------------------------------------------------------ the local stack

def _session(region: str):
    import boto3

    return boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        region_name=region)


def _cfn_lifecycle_rule(rule: dict) -> dict:
    """AWS::S3::Bucket LifecycleConfiguration rule -> PutBucketLifecycleConfiguration rule."""
    out: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"],
                           "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
    return out


def _cfn_cors_rule(rule: dict) -> dict:
    mapping = {"Id": "ID", "AllowedMethods": "AllowedMethods", "AllowedOrigins": "AllowedOrigins",
               "AllowedHeaders": "AllowedHeaders", "ExposedHeaders": "ExposeHeaders",
               "MaxAge": "MaxAgeSeconds"}
    return {mapping[k]: (int(v) if k == "MaxAge" else v) for k, v in rule.items()}


def _stringify(value: Any) -> Any:
    """Cognito schema constraints are strings in the API."""
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class _LocalApplier:
    """Creates / completes each resource of the template with boto3, idempotently."""

    def __init__(self, session, endpoint_url: str, r: Resolver):
        self.r = r
        self.c = lambda svc: session.client(svc, endpoint_url=endpoint_url)
        self.applied: list[str] = []

    # DynamoDB ------------------------------------------------------------
    def table(self, logical: str, create: bool) -> None:
        ddb = self.c("dynamodb")
        p = self.r.properties(logical)
        name = p["TableName"]
        try:
            t = ddb.describe_table(TableName=name)["Table"]
        except ddb.exceptions.ResourceNotFoundException:
            if not create:
                raise
            kw: dict[str, Any] = {k: p[k] for k in ("TableName", "KeySchema",
                                                     "AttributeDefinitions", "BillingMode")}
            if p.get("StreamSpecification"):
                kw["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
            for k in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                if p.get(k):
                    kw[k] = p[k]
            if (p.get("SSESpecification") or {}).get("SSEEnabled"):
                kw["SSESpecification"] = {"Enabled": True}
            t = ddb.create_table(**kw)["TableDescription"]
            self.applied.append(f"{logical}: create_table")
        # SSE: moto's CloudFormation stores SSESpecification in its CFN form, which its
        # DescribeTable does not report, and UpdateTable ignores SSESpecification; so a
        # CFN-created local table shows no SSEDescription (see MOTO_CFN_GAPS).
        ttl = p.get("TimeToLiveSpecification")
        if ttl:
            cur = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            want = "ENABLED" if ttl["Enabled"] else "DISABLED"
            if cur.get("TimeToLiveStatus") != want:
                ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                    "AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])})
                self.applied.append(f"{logical}: TimeToLiveSpecification")
        pitr = p.get("PointInTimeRecoverySpecification")
        cur_pitr = ddb.describe_continuous_backups(TableName=name)[
            "ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
            "PointInTimeRecoveryStatus"] == "ENABLED"
        if pitr and cur_pitr != bool(pitr["PointInTimeRecoveryEnabled"]):
            ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": bool(pitr["PointInTimeRecoveryEnabled"])})
            self.applied.append(f"{logical}: PointInTimeRecoverySpecification")
        t = ddb.describe_table(TableName=name)["Table"]
        self.r.refs[logical] = name
        self.r.attrs[(logical, "Arn")] = t["TableArn"]
        if t.get("LatestStreamArn"):
            self.r.attrs[(logical, "StreamArn")] = t["LatestStreamArn"]

    # S3 ------------------------------------------------------------------
    def bucket(self, logical: str, create: bool) -> None:
        s3 = self.c("s3")
        p = self.r.properties(logical)
        name = p["BucketName"]
        try:
            s3.head_bucket(Bucket=name)
        except Exception:
            if not create:
                raise
            s3.create_bucket(Bucket=name)
            self.applied.append(f"{logical}: create_bucket")
        if "BucketEncryption" in p:
            rules = [{("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault"
                       else k): v for k, v in rule.items()}
                     for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]]
            s3.put_bucket_encryption(Bucket=name,
                                     ServerSideEncryptionConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in p:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"])
            self.applied.append(f"{logical}: PublicAccessBlockConfiguration")
        if "OwnershipControls" in p:
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=p["OwnershipControls"])
            self.applied.append(f"{logical}: OwnershipControls")
        if "LifecycleConfiguration" in p:
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={
                "Rules": [_cfn_lifecycle_rule(x) for x in p["LifecycleConfiguration"]["Rules"]]})
            self.applied.append(f"{logical}: LifecycleConfiguration")
        if "CorsConfiguration" in p:
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={
                "CORSRules": [_cfn_cors_rule(x) for x in p["CorsConfiguration"]["CorsRules"]]})
            self.applied.append(f"{logical}: CorsConfiguration")
        self.r.refs[logical] = name
        self.r.attrs[(logical, "Arn")] = f"arn:aws:s3:::{name}"

    def bucket_policy(self, logical: str) -> None:
        p = self.r.properties(logical)
        self.c("s3").put_bucket_policy(Bucket=p["Bucket"], Policy=json.dumps(p["PolicyDocument"]))
        self.applied.append(f"{logical}: put_bucket_policy")

    # SNS / SQS -----------------------------------------------------------
    def topic(self, logical: str, create: bool) -> None:
        p = self.r.properties(logical)
        attrs = {"KmsMasterKeyId": p["KmsMasterKeyId"]} if p.get("KmsMasterKeyId") else {}
        # CreateTopic is idempotent for the same name and attributes.
        arn = self.c("sns").create_topic(Name=p["TopicName"], Attributes=attrs)["TopicArn"]
        self.r.refs[logical] = arn
        self.r.attrs[(logical, "TopicArn")] = arn

    def queue(self, logical: str, create: bool) -> None:
        sqs = self.c("sqs")
        p = self.r.properties(logical)
        attrs = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
            if key in p:
                attrs[key] = str(p[key])
        if "SqsManagedSseEnabled" in p:
            attrs["SqsManagedSseEnabled"] = str(bool(p["SqsManagedSseEnabled"])).lower()
        if "RedrivePolicy" in p:
            attrs["RedrivePolicy"] = json.dumps(p["RedrivePolicy"])
        try:
            url = sqs.get_queue_url(QueueName=p["QueueName"])["QueueUrl"]
            if attrs:
                sqs.set_queue_attributes(QueueUrl=url, Attributes=attrs)
        except sqs.exceptions.QueueDoesNotExist:
            url = sqs.create_queue(QueueName=p["QueueName"], Attributes=attrs)["QueueUrl"]
            self.applied.append(f"{logical}: create_queue")
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        self.r.refs[logical] = url
        self.r.attrs[(logical, "Arn")] = arn
        self.r.attrs[(logical, "QueueName")] = p["QueueName"]

    # Cognito (moto's CloudFormation has none of these types) ----------------
    def user_pool(self, logical: str) -> None:
        idp = self.c("cognito-idp")
        p = self.r.properties(logical)
        name = p.pop("UserPoolName")
        pools = idp.list_user_pools(MaxResults=60)["UserPools"]
        found = [x["Id"] for x in pools if x["Name"] == name]
        if found:
            pool_id = found[0]
        else:
            kw = {k: v for k, v in p.items() if k != "Schema"}
            kw["Schema"] = [_stringify(a) for a in p.get("Schema", [])]
            pool_id = idp.create_user_pool(PoolName=name, **kw)["UserPool"]["Id"]
            self.applied.append(f"{logical}: create_user_pool")
        arn = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"]
        self.r.refs[logical] = pool_id
        self.r.attrs[(logical, "Arn")] = arn
        self.r.attrs[(logical, "ProviderURL")] = \
            f"cognito-idp.{self.r.refs['AWS::Region']}.amazonaws.com/{pool_id}"

    def user_pool_client(self, logical: str) -> None:
        idp = self.c("cognito-idp")
        p = self.r.properties(logical)
        pool_id = p.pop("UserPoolId")
        clients = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
        found = [x["ClientId"] for x in clients if x["ClientName"] == p["ClientName"]]
        if found:
            client_id = found[0]
        else:
            client_id = idp.create_user_pool_client(UserPoolId=pool_id, **p)[
                "UserPoolClient"]["ClientId"]
            self.applied.append(f"{logical}: create_user_pool_client")
        self.r.refs[logical] = client_id

    def user_pool_group(self, logical: str) -> None:
        idp = self.c("cognito-idp")
        p = self.r.properties(logical)
        try:
            idp.get_group(GroupName=p["GroupName"], UserPoolId=p["UserPoolId"])
        except idp.exceptions.ResourceNotFoundException:
            idp.create_group(**p)
            self.applied.append(f"{logical}: create_group")
        self.r.refs[logical] = p["GroupName"]

    def apply_all(self, create: bool) -> None:
        """Walk the template in dependency order (it is written in that order)."""
        for logical, res in self.r.template["Resources"].items():
            if not self.r.active(logical):
                continue
            kind = res["Type"]
            if kind == "AWS::DynamoDB::Table":
                self.table(logical, create)
            elif kind == "AWS::S3::Bucket":
                self.bucket(logical, create)
            elif kind == "AWS::S3::BucketPolicy":
                self.bucket_policy(logical)
            elif kind == "AWS::SNS::Topic":
                self.topic(logical, create)
            elif kind == "AWS::SQS::Queue":
                self.queue(logical, create)
            elif kind == "AWS::Cognito::UserPool":
                self.user_pool(logical)
            elif kind == "AWS::Cognito::UserPoolClient":
                self.user_pool_client(logical)
            elif kind == "AWS::Cognito::UserPoolGroup":
                self.user_pool_group(logical)
            else:
                raise NotImplementedError(f"local stack cannot create {kind} ({logical})")

    def outputs(self) -> dict[str, Any]:
        out = {}
        for name, spec in self.r.template.get("Outputs", {}).items():
            cond = spec.get("Condition")
            if cond and not self.r.conditions[cond]:
                continue
            out[name] = self.r.resolve(spec["Value"])
        return out


def create_local_resources(endpoint_url: str, stage: str, region: str = "us-east-1",
                           existing_user_pool_id: str | None = None,
                           use_cloudformation: bool = True) -> dict:
    """Create (or complete) the stage's resources in moto server at `endpoint_url`.

    Deploys infra/resources.yaml as the CloudFormation stack `kyc-service-<stage>-resources`
    (unless it exists already), then applies with boto3 what moto's CloudFormation
    lacks (MOTO_CFN_GAPS), reading those properties out of the same template. If the
    stack cannot be created because the resources already exist (a persisted moto
    without the stack), every resource is created/completed with boto3 instead.

    Returns the template's Outputs (KycTableName, KycTableStreamArn, DocumentBucketName,
    NotificationsTopicArn, LicenseQueueUrl/Arn, LicenseDlqUrl/Arn,
    StreamFailureQueueUrl/Arn, UserPoolId, UserPoolClientId, TokenIssuer, ...) plus
    StackName, StackStatus and Applied (what boto3 did).
    """
    session = _session(region)
    account = session.client("sts", endpoint_url=endpoint_url).get_caller_identity()["Account"]
    template = load_template()
    # moto server speaks plain http on loopback: a TLS-only bucket policy would refuse it
    params = {"Stage": stage, "ExistingUserPoolId": existing_user_pool_id or "", "RequireTls": "false"}
    r = resolver(stage, region=region, account=account, template=template,
                 **{k: v for k, v in params.items() if k != "Stage"})
    applier = _LocalApplier(session, endpoint_url, r)
    name = stack_name(stage)
    status = None
    if use_cloudformation:
        cfn = session.client("cloudformation", endpoint_url=endpoint_url)
        status = _stack_status(cfn, name)
        if status not in (None, "CREATE_COMPLETE", "UPDATE_COMPLETE"):
            # a failed or rolled-back stack from an earlier run: start over
            cfn.delete_stack(StackName=name)
            status = None
        if status is None:
            try:
                cfn.create_stack(StackName=name, TemplateBody=TEMPLATE_PATH.read_text(),
                                 Parameters=[{"ParameterKey": k, "ParameterValue": str(v)}
                                             for k, v in params.items()])
            except Exception as exc:  # noqa: BLE001 - moto raises plain ClientErrors
                applier.applied.append(f"create_stack failed: {exc}")
            status = _wait_stack(cfn, name)
            if status != "CREATE_COMPLETE" and status is not None:
                cfn.delete_stack(StackName=name)
                status = None
    # Always allowed to create: a complete stack over a partly persisted moto may still
    # lack a resource; everything that exists is only completed.
    applier.apply_all(create=True)
    out = applier.outputs()
    out.update(StackName=name if status else None, StackStatus=status, Applied=applier.applied)
    return out


def _stack_status(cfn, name: str) -> str | None:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except Exception:  # noqa: BLE001 - ValidationError: stack does not exist
        return None
    live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
    return live[0]["StackStatus"] if live else None


def _wait_stack(cfn, name: str, timeout: float = 60) -> str | None:
    deadline = time.monotonic() + timeout
    while True:
        status = _stack_status(cfn, name)
        if status is None or not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


# ------------------------------------------------------------ the IAM policy

REGION_TOKEN = "${AWS::Region}"
ACCOUNT_TOKEN = "${AWS::AccountId}"
POOL_TOKEN = "${UserPoolId}"


def iam_policy(stage: str, bucket: str | None = None, region: str = REGION_TOKEN,
               account: str = ACCOUNT_TOKEN, user_pool_id: str = POOL_TOKEN) -> dict:
    """The Lambda execution policy of `stage`: only what the code calls, on the
    stage's own resources. Names come from the same template as the resources."""
    r = resolver(stage, region=region, account=account, DocumentBucketName=bucket or "")
    r.lenient = True
    props = {lid: r.properties(lid) for lid in ("KycTable", "IdentityTable", "EventsTable",
                                                "DocumentBucket", "NotificationsTopic",
                                                "LicenseQueue", "LicenseDlq",
                                                "StreamFailureQueue")}
    ddb = f"arn:aws:dynamodb:{region}:{account}:table"
    tables = [f"{ddb}/{props[t]['TableName']}" for t in ("KycTable", "IdentityTable",
                                                          "EventsTable")]
    bucket_name = props["DocumentBucket"]["BucketName"]
    sqs = f"arn:aws:sqs:{region}:{account}"
    queues = {lid: f"{sqs}:{props[lid]['QueueName']}"
              for lid in ("LicenseQueue", "LicenseDlq", "StreamFailureQueue")}
    fn_prefix = f"/aws/lambda/{resource_names(stage).function_prefix}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "KycTables", "Effect": "Allow",
             "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
                        "dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem",
                        "dynamodb:DescribeTable"],
             "Resource": tables},
            {"Sid": "KycTableStream", "Effect": "Allow",
             "Action": ["dynamodb:GetRecords", "dynamodb:GetShardIterator",
                        "dynamodb:DescribeStream", "dynamodb:ListStreams"],
             "Resource": [f"{tables[0]}/stream/*"]},
            {"Sid": "DocumentObjects", "Effect": "Allow",
             "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             "Resource": [f"arn:aws:s3:::{bucket_name}/{prefix}/*"
                          for prefix in ("tenants", "zipped", "unzipped")]},
            {"Sid": "DocumentBucketList", "Effect": "Allow",
             "Action": ["s3:ListBucket"],
             "Resource": [f"arn:aws:s3:::{bucket_name}"]},
            {"Sid": "Notifications", "Effect": "Allow",
             "Action": ["sns:Publish"],
             "Resource": [f"arn:aws:sns:{region}:{account}:{props['NotificationsTopic']['TopicName']}"]},
            {"Sid": "LicenseQueues", "Effect": "Allow",
             "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
                        "sqs:GetQueueAttributes", "sqs:GetQueueUrl",
                        "sqs:ChangeMessageVisibility"],
             "Resource": [queues["LicenseQueue"], queues["LicenseDlq"]]},
            {"Sid": "StreamFailureDestination", "Effect": "Allow",
             "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
             "Resource": [queues["StreamFailureQueue"]]},
            {"Sid": "UserPoolLookup", "Effect": "Allow",
             "Action": ["cognito-idp:AdminGetUser"],
             "Resource": [f"arn:aws:cognito-idp:{region}:{account}:userpool/{user_pool_id}"]},
            {"Sid": "VerificationEngines", "Effect": "Allow",
             "Action": ["rekognition:CompareFaces", "rekognition:DetectFaces",
                        "textract:AnalyzeID"],
             "Resource": "*"},
            {"Sid": "Logs", "Effect": "Allow",
             "Action": ["logs:CreateLogGroup"],
             "Resource": [f"arn:aws:logs:{region}:{account}:log-group:{fn_prefix}*"]},
            {"Sid": "LogEvents", "Effect": "Allow",
             "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [f"arn:aws:logs:{region}:{account}:log-group:{fn_prefix}*:*"]},
            {"Sid": "Tracing", "Effect": "Allow",
             "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
             "Resource": "*"},
            {"Sid": "WhoAmI", "Effect": "Allow",
             "Action": ["sts:GetCallerIdentity"],
             "Resource": "*"},
        ],
    }


def policy_path(stage: str) -> Path:
    return POLICY_DIR / f"policy-{stage}.json"


def write_policy_files(stages: tuple[str, ...] = DEPLOYED_STAGES) -> list[Path]:
    """Regenerate the checked-in .chalice/policy-<stage>.json files."""
    paths = []
    for stage in stages:
        env = stage_environment(stage)
        bucket = env.get("KYC_BUCKET")
        doc = iam_policy(stage, bucket=bucket)
        path = policy_path(stage)
        path.write_text(json.dumps(doc, indent=2) + "\n")
        paths.append(path)
    return paths


def render_policy_file(stage: str, region: str, account: str, user_pool_id: str) -> dict:
    """The checked-in policy file with its placeholders replaced by real values."""
    text = policy_path(stage).read_text()
    for token, value in ((REGION_TOKEN, region), (ACCOUNT_TOKEN, account),
                         (POOL_TOKEN, user_pool_id)):
        text = text.replace(token, value)
    return json.loads(text)


def copy_template() -> dict:
    return copy.deepcopy(load_template())


if __name__ == "__main__":  # regenerate the policy files
    for p in write_policy_files():
        print(p)


def create_tables(ddb, stage: str) -> list[str]:
    """Create just the stage's tables from the definition (in-process moto: tests, benchmarks)."""
    names = []
    for t in table_definitions(stage):
        kw = {"TableName": t["TableName"], "KeySchema": t["KeySchema"],
              "AttributeDefinitions": t["AttributeDefinitions"], "BillingMode": t["BillingMode"]}
        if t["StreamViewType"]:
            kw["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": t["StreamViewType"]}
        if t["GlobalSecondaryIndexes"]:
            kw["GlobalSecondaryIndexes"] = t["GlobalSecondaryIndexes"]
        ddb.create_table(**kw)
        names.append(t["TableName"])
    return names
