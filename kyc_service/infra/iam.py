"""The Lambda execution policy of a stage: only what the code calls, on the stage's own resources,
named from the same template as the resources.

The checked-in .chalice/policy-<stage>.json files are `iam_policy(stage)` with CloudFormation
pseudo-parameter placeholders (`${AWS::Region}`, `${AWS::AccountId}`, `${UserPoolId}`), which
kyc_service.infra resolves (Fn::Sub in the SAM template, real values for `chalice deploy`).
`python -m kyc_service.infra.iam` rewrites them; a test checks they are current.
"""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.stage import ROOT, resource_names, stage_environment
from kyc_service.infra.template import resolver

POLICY_DIR = ROOT / ".chalice"
DEPLOYED_STAGES = ("dev", "beta", "prod")

# CloudFormation placeholders in the checked-in policies (not secrets)
REGION_TOKEN = "${AWS::Region}"  # noqa: S105
ACCOUNT_TOKEN = "${AWS::AccountId}"  # noqa: S105
POOL_TOKEN = "${UserPoolId}"  # noqa: S105


def iam_policy(
    stage: str,
    bucket: str | None = None,
    region: str = REGION_TOKEN,
    account: str = ACCOUNT_TOKEN,
    user_pool_id: str = POOL_TOKEN,
) -> dict:
    """The Lambda execution policy of `stage`: only what the code calls, on the
    stage's own resources. Names come from the same template as the resources."""
    r = resolver(stage, region=region, account=account, DocumentBucketName=bucket or "")
    r.lenient = True
    props = {
        lid: r.properties(lid)
        for lid in (
            "KycTable",
            "IdentityTable",
            "EventsTable",
            "DocumentBucket",
            "NotificationsTopic",
            "LicenseQueue",
            "LicenseDlq",
            "StreamFailureQueue",
            "WebhookQueue",
            "WebhookDlq",
        )
    }
    key_alias = r.resolve(r.template["Resources"]["WebhookSecretsKeyAlias"]["Properties"]["AliasName"])
    ddb = f"arn:aws:dynamodb:{region}:{account}:table"
    tables = [f"{ddb}/{props[t]['TableName']}" for t in ("KycTable", "IdentityTable", "EventsTable")]
    bucket_name = props["DocumentBucket"]["BucketName"]
    sqs = f"arn:aws:sqs:{region}:{account}"
    queues = {
        lid: f"{sqs}:{props[lid]['QueueName']}"
        for lid in ("LicenseQueue", "LicenseDlq", "StreamFailureQueue", "WebhookQueue", "WebhookDlq")
    }
    fn_prefix = f"/aws/lambda/{resource_names(stage).function_prefix}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "KycTables",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:Query",
                    "dynamodb:DeleteItem",
                    "dynamodb:ConditionCheckItem",
                    "dynamodb:DescribeTable",
                ],
                "Resource": tables,
            },
            {
                "Sid": "KycTableStream",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:DescribeStream",
                    "dynamodb:ListStreams",
                ],
                "Resource": [f"{tables[0]}/stream/*"],
            },
            # uploads/ and evidence/: the pinned evidence (storage/evidence.py); the version actions
            # let an erasure delete every version (storage/erasure.py)
            {
                "Sid": "DocumentObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"],
                "Resource": [
                    f"arn:aws:s3:::{bucket_name}/{prefix}/*"
                    for prefix in ("tenants", "uploads", "evidence", "zipped", "unzipped")
                ],
            },
            {
                "Sid": "DocumentBucketList",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:ListBucketVersions"],
                "Resource": [f"arn:aws:s3:::{bucket_name}"],
            },
            {
                "Sid": "Notifications",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": [f"arn:aws:sns:{region}:{account}:{props['NotificationsTopic']['TopicName']}"],
            },
            {
                "Sid": "LicenseQueues",
                "Effect": "Allow",
                "Action": [
                    "sqs:SendMessage",
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ChangeMessageVisibility",
                ],
                "Resource": [queues["LicenseQueue"], queues["LicenseDlq"]],
            },
            {
                "Sid": "StreamFailureDestination",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
                "Resource": [queues["StreamFailureQueue"]],
            },
            {
                "Sid": "WebhookQueues",
                "Effect": "Allow",
                "Action": [
                    "sqs:SendMessage",
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ChangeMessageVisibility",
                ],
                "Resource": [queues["WebhookQueue"], queues["WebhookDlq"]],
            },
            # the key's id is not known before it exists: any key of the account, only through its alias
            {
                "Sid": "WebhookSecrets",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt"],
                "Resource": [f"arn:aws:kms:{region}:{account}:key/*"],
                "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [key_alias]}},
            },
            {
                "Sid": "UserPoolLookup",
                "Effect": "Allow",
                # DescribeUserPool, ListUserPoolClients: the review console's sign-in (its domain, its client)
                "Action": [
                    "cognito-idp:AdminGetUser",
                    "cognito-idp:DescribeUserPool",
                    "cognito-idp:ListUserPoolClients",
                ],
                "Resource": [f"arn:aws:cognito-idp:{region}:{account}:userpool/{user_pool_id}"],
            },
            {
                "Sid": "VerificationEngines",
                "Effect": "Allow",
                # Face Liveness (the liveness route, the verifier): its actions take no resource
                "Action": [
                    "rekognition:CompareFaces",
                    "rekognition:DetectFaces",
                    "textract:AnalyzeID",
                    "rekognition:CreateFaceLivenessSession",
                    "rekognition:GetFaceLivenessSessionResults",
                ],
                "Resource": "*",
            },
            {
                # the duplicate check: the stage's face collections only, one per tenant (keys.face_collection)
                "Sid": "FaceCollections",
                "Effect": "Allow",
                "Action": [
                    "rekognition:CreateCollection",
                    "rekognition:IndexFaces",
                    "rekognition:SearchFacesByImage",
                    "rekognition:DeleteFaces",
                ],
                "Resource": [f"arn:aws:rekognition:{region}:{account}:collection/{stage}-kyc-*"],
            },
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup"],
                "Resource": [f"arn:aws:logs:{region}:{account}:log-group:{fn_prefix}*"],
            },
            {
                "Sid": "LogEvents",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [f"arn:aws:logs:{region}:{account}:log-group:{fn_prefix}*:*"],
            },
            {
                "Sid": "Tracing",
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": "*",
            },
            {"Sid": "WhoAmI", "Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"},
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
    for token, value in ((REGION_TOKEN, region), (ACCOUNT_TOKEN, account), (POOL_TOKEN, user_pool_id)):
        text = text.replace(token, value)
    return json.loads(text)


if __name__ == "__main__":  # regenerate the policy files
    for written in write_policy_files():
        print(written)
