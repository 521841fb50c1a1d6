"""What moto's CloudFormation does not implement, applied with boto3 from the same template
properties (MOTO_CFN_GAPS); local/resources.py runs it after create_stack."""

from __future__ import annotations

import json
from typing import Any

from kyc_service.infra.template import Resolver
from kyc_service.local.env import embedded_client

# What moto 5.2.5's CloudFormation does not create, and create_local_resources
# therefore applies with boto3 from the same template properties.
MOTO_CFN_GAPS = {
    # SSESpecification: moto keeps it but does not report it, and cannot set it
    # afterwards (tables created by the boto3 fallback get SSESpecification.Enabled).
    "AWS::DynamoDB::Table": [
        "PointInTimeRecoverySpecification",
        "TimeToLiveSpecification",
        "SSESpecification (not reported by moto)",
    ],
    "AWS::S3::Bucket": [
        "PublicAccessBlockConfiguration",
        "LifecycleConfiguration",
        "CorsConfiguration",
        "OwnershipControls",
    ],
    "AWS::S3::BucketPolicy": ["(whole resource type)"],
    "AWS::Cognito::UserPool": ["(whole resource type)"],
    "AWS::Cognito::UserPoolClient": ["(whole resource type)"],
    "AWS::Cognito::UserPoolGroup": ["(whole resource type)"],
    "AWS::Cognito::UserPoolDomain": ["(whole resource type)"],
    "AWS::SNS::Subscription": ["(whole resource type)"],
    "AWS::SQS::QueuePolicy": ["(whole resource type)"],
    "AWS::KMS::Key": ["KeyPolicy (moto keeps it as a map; put again as JSON)"],
}


def _cfn_lifecycle_rule(rule: dict) -> dict:
    """AWS::S3::Bucket LifecycleConfiguration rule -> PutBucketLifecycleConfiguration rule."""
    out: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        out["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        }
    return out


def _cfn_cors_rule(rule: dict) -> dict:
    mapping = {
        "Id": "ID",
        "AllowedMethods": "AllowedMethods",
        "AllowedOrigins": "AllowedOrigins",
        "AllowedHeaders": "AllowedHeaders",
        "ExposedHeaders": "ExposeHeaders",
        "MaxAge": "MaxAgeSeconds",
    }
    return {mapping[k]: (int(v) if k == "MaxAge" else v) for k, v in rule.items()}


def _stringify(value: Any) -> Any:
    """Cognito schema constraints are strings in the API."""
    if isinstance(value, dict):
        return {k: _stringify(v) for k, v in value.items()}
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class LocalApplier:
    """Creates / completes each resource of the template with boto3, idempotently."""

    def __init__(self, endpoint_url: str, r: Resolver):
        self.r = r
        region = r.refs["AWS::Region"]
        self.c = lambda svc: embedded_client(svc, endpoint_url, region)
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
            kw: dict[str, Any] = {k: p[k] for k in ("TableName", "KeySchema", "AttributeDefinitions", "BillingMode")}
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
                ddb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
                )
                self.applied.append(f"{logical}: TimeToLiveSpecification")
        pitr = p.get("PointInTimeRecoverySpecification")
        cur_pitr = (
            ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"][
                "PointInTimeRecoveryDescription"
            ]["PointInTimeRecoveryStatus"]
            == "ENABLED"
        )
        if pitr and cur_pitr != bool(pitr["PointInTimeRecoveryEnabled"]):
            ddb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={
                    "PointInTimeRecoveryEnabled": bool(pitr["PointInTimeRecoveryEnabled"])
                },
            )
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
            rules = [
                {
                    ("ApplyServerSideEncryptionByDefault" if k == "ServerSideEncryptionByDefault" else k): v
                    for k, v in rule.items()
                }
                for rule in p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in p:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=p["PublicAccessBlockConfiguration"])
            self.applied.append(f"{logical}: PublicAccessBlockConfiguration")
        if "OwnershipControls" in p:
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=p["OwnershipControls"])
            self.applied.append(f"{logical}: OwnershipControls")
        if "LifecycleConfiguration" in p:
            s3.put_bucket_lifecycle_configuration(
                Bucket=name,
                LifecycleConfiguration={
                    "Rules": [_cfn_lifecycle_rule(x) for x in p["LifecycleConfiguration"]["Rules"]]
                },
            )
            self.applied.append(f"{logical}: LifecycleConfiguration")
        if "CorsConfiguration" in p:
            s3.put_bucket_cors(
                Bucket=name,
                CORSConfiguration={"CORSRules": [_cfn_cors_rule(x) for x in p["CorsConfiguration"]["CorsRules"]]},
            )
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
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.r.refs[logical] = url
        self.r.attrs[(logical, "Arn")] = arn
        self.r.attrs[(logical, "QueueName")] = p["QueueName"]

    def queue_policy(self, logical: str) -> None:
        sqs = self.c("sqs")
        p = self.r.properties(logical)
        for url in p["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(p["PolicyDocument"])})
        self.applied.append(f"{logical}: set_queue_attributes(Policy)")

    def subscription(self, logical: str) -> None:
        sns = self.c("sns")
        p = self.r.properties(logical)
        existing = [
            s
            for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=p["TopicArn"])
            for s in page["Subscriptions"]
            if s["Protocol"] == p["Protocol"] and s["Endpoint"] == p["Endpoint"]
        ]
        if existing:
            arn = existing[0]["SubscriptionArn"]
        else:
            attrs = {"RawMessageDelivery": str(bool(p.get("RawMessageDelivery", False))).lower()}
            if p.get("FilterPolicy"):
                attrs["FilterPolicy"] = json.dumps(p["FilterPolicy"])
            arn = sns.subscribe(
                TopicArn=p["TopicArn"],
                Protocol=p["Protocol"],
                Endpoint=p["Endpoint"],
                Attributes=attrs,
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
            self.applied.append(f"{logical}: subscribe")
        self.r.refs[logical] = arn

    # KMS (moto's CloudFormation creates keys and aliases; the boto3 path finds them by alias) ----
    def _alias_of(self, key_logical: str) -> str | None:
        for res in self.r.template["Resources"].values():
            if res["Type"] == "AWS::KMS::Alias" and res["Properties"].get("TargetKeyId") == {"Ref": key_logical}:
                return str(self.r.resolve(res["Properties"]["AliasName"]))
        return None

    def kms_key(self, logical: str, create: bool) -> None:
        kms = self.c("kms")
        alias = self._alias_of(logical)
        aliases = {
            a["AliasName"]: a.get("TargetKeyId")
            for page in kms.get_paginator("list_aliases").paginate()
            for a in page["Aliases"]
        }
        key_id = aliases.get(alias) if alias else None
        if key_id is None:
            if not create:
                raise LookupError(f"no KMS key for {logical}")
            p = self.r.properties(logical)
            key_id = kms.create_key(
                Description=p.get("Description", ""), Policy=json.dumps(p["KeyPolicy"]), KeyUsage="ENCRYPT_DECRYPT"
            )["KeyMetadata"]["KeyId"]
            self.applied.append(f"{logical}: create_key")
        else:  # created by moto's CloudFormation, which keeps the policy unserialised
            policy = json.dumps(self.r.properties(logical)["KeyPolicy"])
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy)
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        self.r.refs[logical] = meta["KeyId"]
        self.r.attrs[(logical, "Arn")] = meta["Arn"]
        self.r.attrs[(logical, "KeyId")] = meta["KeyId"]

    def kms_alias(self, logical: str) -> None:
        kms = self.c("kms")
        p = self.r.properties(logical)
        names = {a["AliasName"] for page in kms.get_paginator("list_aliases").paginate() for a in page["Aliases"]}
        if p["AliasName"] not in names:
            kms.create_alias(AliasName=p["AliasName"], TargetKeyId=p["TargetKeyId"])
            self.applied.append(f"{logical}: create_alias")
        self.r.refs[logical] = p["AliasName"]

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
            # EnabledMfas is CloudFormation's; the API sets it with SetUserPoolMfaConfig
            kw = {k: v for k, v in p.items() if k not in ("Schema", "EnabledMfas")}
            kw["Schema"] = [_stringify(a) for a in p.get("Schema", [])]
            pool_id = idp.create_user_pool(PoolName=name, **kw)["UserPool"]["Id"]
            self.applied.append(f"{logical}: create_user_pool")
        arn = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"]
        self.r.refs[logical] = pool_id
        self.r.attrs[(logical, "Arn")] = arn
        self.r.attrs[(logical, "ProviderURL")] = f"cognito-idp.{self.r.refs['AWS::Region']}.amazonaws.com/{pool_id}"

    def user_pool_client(self, logical: str) -> None:
        idp = self.c("cognito-idp")
        p = self.r.properties(logical)
        pool_id = p.pop("UserPoolId")
        clients = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
        found = [x["ClientId"] for x in clients if x["ClientName"] == p["ClientName"]]
        if found:
            client_id = found[0]
        else:
            client_id = idp.create_user_pool_client(UserPoolId=pool_id, **p)["UserPoolClient"]["ClientId"]
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

    def user_pool_domain(self, logical: str) -> None:
        idp = self.c("cognito-idp")
        p = self.r.properties(logical)
        pool = idp.describe_user_pool(UserPoolId=p["UserPoolId"])["UserPool"]
        if not pool.get("Domain"):
            idp.create_user_pool_domain(Domain=p["Domain"], UserPoolId=p["UserPoolId"])
            self.applied.append(f"{logical}: create_user_pool_domain")
        self.r.refs[logical] = p["Domain"]

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
            elif kind == "AWS::SQS::QueuePolicy":
                self.queue_policy(logical)
            elif kind == "AWS::SNS::Subscription":
                self.subscription(logical)
            elif kind == "AWS::KMS::Key":
                self.kms_key(logical, create)
            elif kind == "AWS::KMS::Alias":
                self.kms_alias(logical)
            elif kind == "AWS::Cognito::UserPool":
                self.user_pool(logical)
            elif kind == "AWS::Cognito::UserPoolClient":
                self.user_pool_client(logical)
            elif kind == "AWS::Cognito::UserPoolGroup":
                self.user_pool_group(logical)
            elif kind == "AWS::Cognito::UserPoolDomain":
                self.user_pool_domain(logical)
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
