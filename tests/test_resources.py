"""The one resource definition (infra/resources.yaml) and the local stack built from it
in moto server (CloudFormation create_stack + boto3 for what moto lacks)."""

from __future__ import annotations

import json
import socket
import warnings

import boto3
import pytest

from chalicelib.stage import stage_environment
from kyc_service.infra import iam, template
from kyc_service.local import resources as local_resources

REGION = "us-east-1"
COMPARED = (
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "StreamViewType",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "TimeToLiveAttribute",
    "PointInTimeRecoveryEnabled",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_url():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _client(service: str, url: str):
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client(service, endpoint_url=url)


@pytest.fixture(scope="module")
def local(moto_url):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moto warns about the resource types it skips
        return local_resources.create_local_resources(moto_url, "local")


def _subset(table: dict) -> dict:
    return {k: table[k] for k in COMPARED}


# ------------------------------------------------------------------ template


def test_template_passes_cfn_lint():
    from cfnlint.api import ManualArgs, lint

    matches = lint(template.TEMPLATE_PATH.read_text(), config=ManualArgs(regions=[REGION]))
    assert [str(m) for m in matches] == []


def test_table_definitions_follow_the_brief():
    tables = {t["LogicalId"]: t for t in template.table_definitions("dev")}
    kyc, ident, events = tables["KycTable"], tables["IdentityTable"], tables["EventsTable"]
    assert kyc["TableName"] == "dev_kyc_service"
    assert kyc["KeySchema"] == [
        {"AttributeName": "tenant#email", "KeyType": "HASH"},
        {"AttributeName": "id_type#id", "KeyType": "RANGE"},
    ]
    assert kyc["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert ident["TableName"] == "dev_identity"
    assert ident["KeySchema"] == [{"AttributeName": "tenant#email", "KeyType": "HASH"}]
    assert ident["StreamViewType"] is None
    assert events["TableName"] == "dev_kyc_events"
    assert [k["AttributeName"] for k in events["KeySchema"]] == ["pk", "sk"]
    assert events["TimeToLiveAttribute"] == "expires_at"
    for t in tables.values():
        assert t["BillingMode"] == "PAY_PER_REQUEST"
        assert t["SSEEnabled"] and t["PointInTimeRecoveryEnabled"]
        # strings, bar the review queue indexes' sort key (the update time, a number)
        assert all(
            a["AttributeType"] == ("N" if a["AttributeName"] == "last_updated_time" else "S")
            for a in t["AttributeDefinitions"]
        )
    assert [(i["IndexName"], [k["AttributeName"] for k in i["KeySchema"]]) for i in kyc["GlobalSecondaryIndexes"]] == [
        ("tenant-updated", ["tenant", "last_updated_time"]),
        ("tenant-status-updated", ["tenant#status", "last_updated_time"]),
        ("tenant-id-number", ["tenant#id"]),
    ]


def test_bucket_definition_is_private_encrypted_tls_only():
    r = template.resolver("beta")
    r.lenient = True  # (the access log bucket's name is CloudFormation's)
    props = r.properties("DocumentBucket")
    assert props["BucketName"] == "beta-kyc-documents"
    assert props["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": "AccessLogBucket"},
        "LogFilePrefix": "documents/",
    }
    assert r.active("AccessLogBucket") and r.active("AccessLogBucketPolicy")
    logs = r.properties("AccessLogBucket")
    assert logs["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True
    assert logs["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
        "SSEAlgorithm"
    ] in ("AES256", "aws:kms")
    from chalicelib.keys import EVIDENCE, EVIDENCE_CLASSES, UNZIPPED, UPLOADS, ZIPPED

    prefixes = {rule.get("Prefix") for rule in props["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in rule}
    assert prefixes == {ZIPPED, UNZIPPED, UPLOADS} | {f"{EVIDENCE}{c}/" for c in set(EVIDENCE_CLASSES.values())}
    assert "CorsConfiguration" not in props  # no browser origin configured: no CORS rule, never "*"
    origins = template.resolver("beta", UploadCorsOrigins="https://app.example.com,https://admin.example.com")
    origins.lenient = True
    (rule,) = origins.properties("DocumentBucket")["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]  # the documents route answers presigned POST forms
    assert rule["AllowedOrigins"] == ["https://app.example.com", "https://admin.example.com"]
    r.attrs[("DocumentBucket", "Arn")] = "arn:aws:s3:::beta-kyc-documents"
    r.refs["DocumentBucket"] = "beta-kyc-documents"
    statement = r.properties("DocumentBucketPolicy")["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny" and statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert r.active("DocumentBucketPolicy")  # deployed stages enforce TLS
    # a deployed stage may name its bucket (bucket names are global)
    named = template.resolver("prod", DocumentBucketName="acme-kyc-prod-docs")
    named.lenient = True
    assert named.properties("DocumentBucket")["BucketName"] == "acme-kyc-prod-docs"


@pytest.mark.parametrize("stage", ("dev", "beta", "prod"))
def test_retention_periods_come_from_the_stage_config(stage):
    """Each stage's .chalice/config.json sets the template's retention parameters; prod keeps ID
    documents 5 years (AML) and biometric data at most 3 years (BIPA)."""
    env = stage_environment(stage)
    params = template.stage_parameters(env)
    # (no browser origin until one is configured, no customer-managed key unless given: both empty)
    assert set(params) == set(template.STAGE_PARAMETERS) - {"UploadCorsOrigins", "KmsKeyArn"}
    r = template.resolver(stage, **params)
    r.lenient = True
    rules = {
        rule["Prefix"]: int(rule["ExpirationInDays"])
        for rule in r.properties("DocumentBucket")["LifecycleConfiguration"]["Rules"]
        if "ExpirationInDays" in rule
    }
    assert rules["uploads/"] == int(env["KYC_UPLOAD_EXPIRATION_DAYS"]) == 1
    assert rules["evidence/documents/"] == int(env["KYC_DOCUMENT_RETENTION_DAYS"])
    assert rules["evidence/biometric/"] == int(env["KYC_BIOMETRIC_RETENTION_DAYS"]) <= 1095
    if stage == "prod":
        assert (rules["evidence/documents/"], rules["evidence/biometric/"]) == (1825, 1095)


def test_existing_user_pool_skips_the_pool_resources():
    r = template.resolver("prod", ExistingUserPoolId="us-east-1_abc")
    assert not r.active("UserPool") and not r.active("UserPoolClient")
    assert r.resolve(r.template["Outputs"]["UserPoolId"]["Value"]) == "us-east-1_abc"
    assert (
        r.resolve(r.template["Outputs"]["TokenIssuer"]["Value"])
        == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc"
    )
    assert template.resolver("prod").active("UserPool")


# ---------------------------------------------------------------- local stack


def test_local_stack_creates_the_template_tables(local, moto_url):
    assert local["StackStatus"] == "CREATE_COMPLETE"
    ddb = _client("dynamodb", moto_url)
    defined = template.table_definitions("local")
    live = template.describe_tables(ddb, [t["TableName"] for t in defined])
    assert [_subset(t) for t in live] == [_subset(t) for t in defined]
    assert local["KycTableStreamArn"] == ddb.describe_table(TableName="local_kyc_service")["Table"]["LatestStreamArn"]


def test_local_stack_outputs_match_cloudformation_outputs(local, moto_url):
    cfn = _client("cloudformation", moto_url)
    stack = cfn.describe_stacks(StackName=local["StackName"])["Stacks"][0]
    cfn_outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    for key in (
        "KycTableName",
        "KycTableStreamArn",
        "DocumentBucketName",
        "NotificationsTopicArn",
        "LicenseQueueArn",
        "LicenseDlqArn",
        "StreamFailureQueueArn",
    ):
        assert cfn_outputs[key] == local[key], key


def test_local_bucket_settings(local, moto_url):
    s3 = _client("s3", moto_url)
    bucket = local["DocumentBucketName"]
    assert bucket == "local-kyc-documents"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block[k] for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    env = stage_environment("local")  # the local stage's retention periods (.chalice/config.json)
    assert {(r["Filter"]["Prefix"], r["Expiration"]["Days"]) for r in rules if "Expiration" in r} == {
        ("zipped/", 7),
        ("unzipped/", 7),
        ("uploads/", int(env["KYC_UPLOAD_EXPIRATION_DAYS"])),
        ("evidence/documents/", int(env["KYC_DOCUMENT_RETENTION_DAYS"])),
        ("evidence/biometric/", int(env["KYC_BIOMETRIC_RETENTION_DAYS"])),
    }
    cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert cors[0]["AllowedMethods"] == ["POST"]
    assert cors[0]["AllowedOrigins"] == [stage_environment("local")["KYC_UPLOAD_CORS_ORIGINS"]]


def test_local_queues_topic_and_pool(local, moto_url):
    sqs = _client("sqs", moto_url)
    attrs = sqs.get_queue_attributes(QueueUrl=local["LicenseQueueUrl"], AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "300"
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": local["LicenseDlqArn"], "maxReceiveCount": 5}
    assert local["LicenseDlqArn"].endswith(":local-license-dlq")
    assert local["StreamFailureQueueArn"].endswith(":local-kyc-stream-failures")
    topic = _client("sns", moto_url).get_topic_attributes(TopicArn=local["NotificationsTopicArn"])["Attributes"]
    assert topic["KmsMasterKeyId"] == "alias/aws/sns"

    idp = _client("cognito-idp", moto_url)
    pool = idp.describe_user_pool(UserPoolId=local["UserPoolId"])["UserPool"]
    assert "custom:tenant" in [a["Name"] for a in pool["SchemaAttributes"]]
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}  # Kate@ and kate@ are one user
    assert pool["MfaConfiguration"] == "OPTIONAL"
    assert idp.get_group(GroupName="kyc-admin", UserPoolId=local["UserPoolId"])["Group"]
    client = idp.describe_user_pool_client(UserPoolId=local["UserPoolId"], ClientId=local["UserPoolClientId"])[
        "UserPoolClient"
    ]
    assert not client.get("ClientSecret")
    assert "custom:tenant" not in client.get("WriteAttributes", [])
    assert local["TokenIssuer"].endswith("/" + local["UserPoolId"])


def test_local_resources_are_idempotent(local, moto_url):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = local_resources.create_local_resources(moto_url, "local")
    for key in ("UserPoolId", "UserPoolClientId", "KycTableStreamArn", "LicenseQueueUrl", "NotificationsTopicArn"):
        assert again[key] == local[key]
    assert not [a for a in again["Applied"] if "create_" in a]
    pools = _client("cognito-idp", moto_url).list_user_pools(MaxResults=60)["UserPools"]
    assert [p["Id"] for p in pools if p["Name"] == "local-kyc-users"] == [local["UserPoolId"]]


def test_boto3_path_builds_the_same_tables(moto_url):
    """No CloudFormation (e.g. a persisted moto whose stack is gone): same definition."""
    out = local_resources.create_local_resources(moto_url, "alt", use_cloudformation=False)
    assert out["StackStatus"] is None
    ddb = _client("dynamodb", moto_url)
    defined = template.table_definitions("alt")
    live = template.describe_tables(ddb, [t["TableName"] for t in defined])
    assert [_subset(t) for t in live] == [_subset(t) for t in defined]
    assert all(t["SSEEnabled"] for t in live)
    # ... and then the CloudFormation path over existing resources still completes them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = local_resources.create_local_resources(moto_url, "alt")
    assert again["KycTableStreamArn"] == out["KycTableStreamArn"]
    assert again["UserPoolId"] == out["UserPoolId"]


# ------------------------------------------------------------------ IAM


@pytest.mark.parametrize("stage", iam.DEPLOYED_STAGES)
def test_policy_files_are_rendered_from_the_definition(stage):
    env = stage_environment(stage)
    on_disk = json.loads(iam.policy_path(stage).read_text())
    assert on_disk == iam.iam_policy(stage, bucket=env["KYC_BUCKET"])


NO_RESOURCE_LEVEL = ("rekognition:", "textract:", "xray:", "sts:GetCallerIdentity")


@pytest.mark.parametrize("stage", iam.DEPLOYED_STAGES)
def test_policy_is_least_privilege(stage):
    env = stage_environment(stage)
    doc = json.loads(iam.policy_path(stage).read_text())
    own_names = (
        f"{stage}_kyc_service",
        f"{stage}_identity",
        f"{stage}_kyc_events",
        env["KYC_BUCKET"],
        f"{stage}-kyc-notifications",
        f"{stage}-license-queue",
        f"{stage}-license-dlq",
        f"{stage}-kyc-stream-failures",
        iam.POOL_TOKEN,
        f"/aws/lambda/kyc-service-{stage}-",
        f"{stage}-kyc-webhooks",
        f"collection/{stage}-kyc-",  # the duplicate check's face collections, one per tenant
    )
    actions = set()
    for st in doc["Statement"]:
        assert st["Effect"] == "Allow"
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        actions.update(acts)
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert all("*" != a and not a.endswith(":*") for a in acts)
        if resources == ["*"]:
            assert all(a.startswith(NO_RESOURCE_LEVEL) for a in acts), st
            continue
        if all(a.startswith("kms:") for a in acts):  # keys are named by alias (their ids come later)
            assert st["Condition"] == {
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": [f"alias/{stage}-kyc-webhooks"]}
            }, st
            assert set(acts) == {"kms:Encrypt", "kms:Decrypt"}
            continue
        for arn in resources:
            assert any(name in arn for name in own_names), arn
            assert ":*:" not in arn, arn  # region/account are real placeholders, not *
    for needed in (
        "dynamodb:ConditionCheckItem",
        "dynamodb:GetRecords",
        "s3:PutObject",
        "sns:Publish",
        "sqs:SendMessage",
        "cognito-idp:AdminGetUser",
        "rekognition:CompareFaces",
        "rekognition:IndexFaces",
        "rekognition:SearchFacesByImage",
        "rekognition:DeleteFaces",
        "rekognition:CreateFaceLivenessSession",
        "rekognition:GetFaceLivenessSessionResults",
        "textract:AnalyzeID",
        "xray:PutTraceSegments",
        "logs:PutLogEvents",
        "sts:GetCallerIdentity",
    ):
        assert needed in actions
    assert not [
        a
        for a in actions
        if a.split(":")[1].startswith(("Delete", "Create"))
        and a.split(":")[0] in ("dynamodb", "sns", "sqs")
        and a not in ("dynamodb:DeleteItem", "sqs:DeleteMessage")
    ]


def test_rendered_policy_has_real_arns():
    doc = iam.render_policy_file("prod", "eu-west-1", "111122223333", "eu-west-1_pool")
    text = json.dumps(doc)
    assert "${" not in text
    assert "arn:aws:dynamodb:eu-west-1:111122223333:table/prod_kyc_service" in text
    assert "arn:aws:cognito-idp:eu-west-1:111122223333:userpool/eu-west-1_pool" in text


@pytest.mark.parametrize("stage", ("local", "dev", "prod"))
def test_template_names_follow_the_one_naming_rule(stage):
    """infra/resources.yaml and chalicelib/stage.py name every resource the same way."""
    from chalicelib.config import ADMIN_GROUP
    from chalicelib.stage import resource_names

    names = resource_names(stage)
    r = template.resolver(stage)
    r.lenient = True
    assert [r.properties(t)["TableName"] for t in ("KycTable", "IdentityTable", "EventsTable")] == [
        names.table,
        names.identity_table,
        names.events_table,
    ]
    assert r.properties("DocumentBucket")["BucketName"] == names.bucket
    assert r.properties("NotificationsTopic")["TopicName"] == names.topic
    queues = ("LicenseQueue", "LicenseDlq", "StreamFailureQueue", "BundleFailureQueue")
    assert [r.properties(q)["QueueName"] for q in queues] == [
        names.license_queue,
        names.license_dlq,
        names.failure_queue,
        names.bundle_failure_queue,
    ]
    assert r.properties("UserPool")["UserPoolName"] == names.user_pool
    assert r.resolve(r.template["Resources"]["AdminGroup"]["Properties"]["GroupName"]) == ADMIN_GROUP
    assert template.stack_name(stage) == names.stack


KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_customer_managed_key_encrypts_bucket_tables_topic_and_queues():
    """Issue 17: an optional customer-managed KMS key; without it, the AWS-managed defaults."""
    with_key = template.resolver("prod", KmsKeyArn=KEY)
    with_key.lenient = True  # (the queues' redrive targets are left to CloudFormation)
    sse = with_key.properties("DocumentBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY}
    for table in ("KycTable", "IdentityTable", "EventsTable"):
        assert with_key.properties(table)["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": KEY,
        }
    assert with_key.properties("NotificationsTopic")["KmsMasterKeyId"] == KEY
    queues = ("LicenseQueue", "LicenseDlq", "StreamFailureQueue", "WebhookQueue", "WebhookDlq")
    for queue in queues:
        props = with_key.properties(queue)
        assert props["KmsMasterKeyId"] == KEY and "SqsManagedSseEnabled" not in props

    default = template.resolver("prod")
    default.lenient = True
    sse = default.properties("DocumentBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert default.properties("KycTable")["SSESpecification"] == {"SSEEnabled": True}
    assert default.properties("NotificationsTopic")["KmsMasterKeyId"] == "alias/aws/sns"
    for queue in queues:
        props = default.properties(queue)
        assert props["SqsManagedSseEnabled"] is True and "KmsMasterKeyId" not in props


def test_functions_may_use_the_customer_managed_key_when_given():
    from kyc_service.infra import roles

    for function in roles.functions():
        doc = roles.function_policy("prod", function, kms_key=KEY)
        keyed = [st for st in doc["Statement"] if st["Sid"] == "CustomerManagedKey"]
        if function == "jwt_auth":  # touches no data
            assert keyed == []
        else:
            assert keyed[0]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"] and keyed[0]["Resource"] == [KEY]
        assert not [
            st for st in roles.function_policy("prod", function)["Statement"] if "CustomerManagedKey" == st["Sid"]
        ]
