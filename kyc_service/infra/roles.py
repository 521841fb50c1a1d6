"""One IAM role per Lambda function, each with only what that function's code calls
(kyc_service/infra/calls.py reads it from the source) on the stage's own resources, plus what its
event source needs (Lambda's pollers run with the function's role), its own logs and tracing.

`function_policy(stage, function)` is used by both deploy paths: the SAM merge puts it on each
function's role (kyc_service/infra/sam.py), `python -m kyc_service deploy` gives each function its
own rendered policy file. The authorizer (`jwt_auth`) reads the JWKS over HTTPS: it gets nothing
but its logs and tracing.
"""

from __future__ import annotations

from typing import Any

from chalicelib.stage import resource_names, stage_environment
from kyc_service.infra import calls
from kyc_service.infra.iam import ACCOUNT_TOKEN, POOL_TOKEN, REGION_TOKEN
from kyc_service.infra.template import resolver

# which queue a setting (read by the code) or an app.py constant (an SQS event source) names
QUEUE_SETTINGS = {
    "license_queue_name": "LicenseQueue",
    "license_dlq_name": "LicenseDlq",
    "failure_queue_name": "StreamFailureQueue",
    "webhook_queue_name": "WebhookQueue",
    "webhook_dlq_name": "WebhookDlq",
}
BUNDLE_FAILURES = "BundleFailureQueue"  # the S3-invoked intake's dead-letter queue
EVENT_QUEUES = {"LICENSE_QUEUE": "LicenseQueue", "LICENSE_DLQ": "LicenseDlq", "WEBHOOK_QUEUE": "WebhookQueue"}
STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
SQS_POLL = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
STREAM_FAILURES = ["sqs:SendMessage"]  # the stream mappings' on-failure destination
NO_RESOURCE_LEVEL = ("rekognition", "textract", "sts")  # these actions have no resource ARNs
OBJECT_PREFIXES = ("tenants", "uploads", "evidence", "zipped", "unzipped")


def _names(stage: str, region: str, account: str, bucket: str | None) -> dict[str, Any]:
    r = resolver(stage, region=region, account=account, DocumentBucketName=bucket or "")
    r.lenient = True
    wanted = ("KycTable", "IdentityTable", "EventsTable", "DocumentBucket", "NotificationsTopic")
    p = {lid: r.properties(lid) for lid in (*wanted, *set(QUEUE_SETTINGS.values()), BUNDLE_FAILURES)}
    sqs = f"arn:aws:sqs:{region}:{account}"
    return {
        "tables": [
            f"arn:aws:dynamodb:{region}:{account}:table/{p[t]['TableName']}"
            for t in ("KycTable", "IdentityTable", "EventsTable")
        ],
        "bucket": p["DocumentBucket"]["BucketName"],
        "topic": f"arn:aws:sns:{region}:{account}:{p['NotificationsTopic']['TopicName']}",
        "queues": {lid: f"{sqs}:{p[lid]['QueueName']}" for lid in {*QUEUE_SETTINGS.values(), BUNDLE_FAILURES}},
        "key_alias": r.resolve(r.template["Resources"]["WebhookSecretsKeyAlias"]["Properties"]["AliasName"]),
    }


def _sorted(actions: set[str]) -> list[str]:
    return sorted(actions)


def function_policy(
    stage: str,
    function: str,
    bucket: str | None = None,
    region: str = REGION_TOKEN,
    account: str = ACCOUNT_TOKEN,
    user_pool_id: str = POOL_TOKEN,
    function_name: str | None = None,
    kms_key: str | None = None,
) -> dict[str, Any]:
    """The execution policy of one Chalice function (`api_handler`, `jwt_auth`, `verify_records`, ...).
    `kms_key`: the stage's customer-managed key (KmsKeyArn), which encrypts the data it touches."""
    env = stage_environment(stage)
    n = _names(stage, region, account, bucket or env.get("KYC_BUCKET"))
    found = calls.function_reach()[function]
    actions, read = set(found.actions), found.read
    source = calls.event_sources().get(function)
    by_service: dict[str, set[str]] = {}
    for action in actions:
        by_service.setdefault(action.split(":")[0], set()).add(action)
    st: list[dict[str, Any]] = []

    def allow(sid: str, acts: set[str] | list[str], resources: list[str] | str, **extra: Any) -> None:
        if acts:
            st.append({"Sid": sid, "Effect": "Allow", "Action": _sorted(set(acts)), "Resource": resources, **extra})

    ddb = by_service.get("dynamodb", set())
    tables = n["tables"] + ([f"{t}/index/*" for t in n["tables"]] if "dynamodb:Query" in ddb else [])
    allow("KycTables", ddb, tables)
    if source and source[0] == "stream":
        allow("KycTableStream", STREAM_READ, [f"{n['tables'][0]}/stream/*"])
    s3 = by_service.get("s3", set())
    objects = {a for a in s3 if "Object" in a}
    allow("DocumentObjects", objects, [f"arn:aws:s3:::{n['bucket']}/{p}/*" for p in OBJECT_PREFIXES])
    listing = (s3 - objects) | ({"s3:ListBucket"} if "s3:GetObject" in s3 else set())  # 404, not 403, when missing
    allow("DocumentBucketList", listing, [f"arn:aws:s3:::{n['bucket']}"])
    allow("Notifications", by_service.get("sns", set()), [n["topic"]])
    queues: dict[str, set[str]] = {}
    for setting, lid in QUEUE_SETTINGS.items():
        if setting in read and by_service.get("sqs"):
            queues.setdefault(lid, set()).update(by_service["sqs"])
    if source and source[0] == "sqs":
        queues.setdefault(EVENT_QUEUES[str(source[1])], set()).update(SQS_POLL)
    if source and source[0] == "stream":
        queues.setdefault("StreamFailureQueue", set()).update(STREAM_FAILURES)
    if source and source[0] == "s3":  # Lambda sends a failed asynchronous event there with this role
        queues.setdefault(BUNDLE_FAILURES, set()).add("sqs:SendMessage")
    for lid in sorted(queues):
        allow(lid, queues[lid], [n["queues"][lid]])
    allow(
        "WebhookSecrets",
        by_service.get("kms", set()),
        [f"arn:aws:kms:{region}:{account}:key/*"],
        Condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": [n["key_alias"]]}},
    )
    allow(
        "UserPoolLookup",
        by_service.get("cognito-idp", set()),
        [f"arn:aws:cognito-idp:{region}:{account}:userpool/{user_pool_id}"],
    )
    parameter = env.get("KYC_LICENSE_VALIDATOR_TOKEN_PARAMETER")
    if parameter:
        allow("ValidatorToken", by_service.get("ssm", set()), [f"arn:aws:ssm:{region}:{account}:parameter{parameter}"])
    allow("NoResourceLevel", {a for s in NO_RESOURCE_LEVEL for a in by_service.get(s, set())}, "*")
    unscoped = set(by_service) - {"dynamodb", "s3", "sns", "sqs", "kms", "cognito-idp", "ssm", *NO_RESOURCE_LEVEL}
    if unscoped:
        raise ValueError(f"{function} calls {sorted(unscoped)}: say on which resources (kyc_service/infra/roles.py)")
    # data encrypted with the customer-managed key: reading needs Decrypt, writing GenerateDataKey
    touches_data = any(a.split(":")[0] in ("dynamodb", "s3", "sns", "sqs") for s in st for a in s["Action"])
    if kms_key and touches_data:
        allow("CustomerManagedKey", {"kms:Decrypt", "kms:GenerateDataKey"}, [kms_key])
    name = function_name or f"{resource_names(stage).function_prefix}{function}"
    group = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{name}"
    allow("Logs", {"logs:CreateLogStream", "logs:PutLogEvents"}, [f"{group}:*"])
    allow("Tracing", {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}, "*")
    return {"Version": "2012-10-17", "Statement": st}


def functions() -> list[str]:
    return sorted(calls.lambda_functions())
