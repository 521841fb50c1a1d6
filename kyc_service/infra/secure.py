"""The packaged template's security settings (issue 17), applied by the SAM merge
(kyc_service/infra/sam.py) after the resources are in:

* every function's role: only what that function calls (kyc_service/infra/roles.py), its logs
  scoped to its own log group;
* fixed function names, `kyc-service-<stage>-<function>` (as `chalice deploy` names them);
* a log group per function with a retention period (`LogRetentionDays`, from the stage's
  KYC_LOG_RETENTION_DAYS), created by the stack, so no function needs logs:CreateLogGroup;
* API Gateway stage throttling (`ApiRateLimit` requests/s and `ApiBurstLimit`, from
  KYC_API_RATE_LIMIT / KYC_API_BURST_LIMIT) on every method, and X-Ray tracing of the stage;
* the token audience (KYC_TOKEN_AUDIENCE): the created pool's app and console clients, or the
  `TokenAudience` parameter with an existing pool.
"""

from __future__ import annotations

import copy
from typing import Any

from chalicelib.stage import resource_names
from kyc_service.infra.roles import function_policy

# CloudWatch Logs' allowed retention periods (days)
RETENTION_DAYS = [
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
]
DEFAULTS = {"KYC_LOG_RETENTION_DAYS": 365, "KYC_API_RATE_LIMIT": 100, "KYC_API_BURST_LIMIT": 200}


def chalice_function(props: dict[str, Any]) -> str:
    """The Chalice name of a packaged function (`app.app` is the API handler)."""
    handler = props["Handler"].split(".", 1)[1]
    return "api_handler" if handler == "app" else handler


def _number(env: dict[str, str], name: str) -> int:
    return int(env.get(name) or DEFAULTS[name])


def add_parameters(sam: dict[str, Any], env: dict[str, str]) -> None:
    params = sam.setdefault("Parameters", {})
    params["LogRetentionDays"] = {
        "Type": "Number",
        "Default": _number(env, "KYC_LOG_RETENTION_DAYS"),
        "AllowedValues": RETENTION_DAYS,
        "Description": "Days the functions' logs are kept (CloudWatch Logs).",
    }
    params["ApiRateLimit"] = {
        "Type": "Number",
        "Default": _number(env, "KYC_API_RATE_LIMIT"),
        "MinValue": 1,
        "Description": "Steady requests per second the API stage accepts (all callers); more get 429.",
    }
    params["ApiBurstLimit"] = {
        "Type": "Number",
        "Default": _number(env, "KYC_API_BURST_LIMIT"),
        "MinValue": 1,
        "Description": "Requests the API stage accepts at once above the rate (token bucket size).",
    }


def secure(sam: dict[str, Any], stage: str, env: dict[str, str], sub: Any) -> None:
    """Roles, log groups, throttling and audience of the merged template. `sub(value)` wraps
    placeholders (${AWS::Region}, ${UserPoolId}, ...) in Fn::Sub."""
    add_parameters(sam, env)
    resources = sam["Resources"]
    audience = copy.deepcopy(sam["Outputs"]["TokenAudience"]["Value"])
    for logical, res in list(resources.items()):
        if res["Type"] == "AWS::Serverless::Function":
            props = res["Properties"]
            name = chalice_function(props)
            # named as `chalice deploy` names it, so its log group (and the role's logs statement)
            # need not refer to the function: no dependency cycle role -> group -> function -> role
            function_name = f"{resource_names(stage).function_prefix}{name}"
            props["FunctionName"] = function_name
            group = f"{logical}LogGroup"
            resources[group] = {
                "Type": "AWS::Logs::LogGroup",
                "DeletionPolicy": "Delete",
                "UpdateReplacePolicy": "Delete",
                "Properties": {
                    "LogGroupName": f"/aws/lambda/{function_name}",
                    "RetentionInDays": {"Ref": "LogRetentionDays"},
                    # the customer-managed key, when given (its key policy lets CloudWatch Logs use it)
                    "KmsKeyId": {"Fn::If": ["UseCmk", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]},
                },
            }
            props["Environment"]["Variables"]["KYC_TOKEN_AUDIENCE"] = copy.deepcopy(audience)
            if any(e.get("Type") == "S3" for e in props.get("Events", {}).values()):  # invoked asynchronously
                props["DeadLetterQueue"] = {"Type": "SQS", "TargetArn": {"Fn::GetAtt": ["BundleFailureQueue", "Arn"]}}
            role = props["Role"]["Fn::GetAtt"][0]
            policy = function_policy(stage, name, bucket=env.get("KYC_BUCKET"), kms_key="${KmsKeyArn}")
            for i, statement in enumerate(policy["Statement"]):
                if statement["Sid"] == "Logs":
                    statement["Resource"] = [{"Fn::GetAtt": [group, "Arn"]}]
                if statement["Sid"] == "CustomerManagedKey":  # only when the stack is given a key
                    policy["Statement"][i] = {"Fn::If": ["UseCmk", statement, {"Ref": "AWS::NoValue"}]}
            resources[role]["Properties"]["Policies"] = [
                {"PolicyName": f"{name}-policy", "PolicyDocument": sub(policy)}
            ]
        elif res["Type"] == "AWS::Serverless::Api":
            res["Properties"]["MethodSettings"] = [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
                    "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
                }
            ]
            res["Properties"]["TracingEnabled"] = True
            add_access_logs(sam, logical)


# API access log lines: who (the token's `sub`, pseudonymous), what route (its template: the path
# itself holds e-mails), when, the answer. No header, body or e-mail (docs/privacy.md).
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","time":"$context.requestTime","ip":"$context.identity.sourceIp",'
    '"caller":"$context.authorizer.principalId","tenant":"$context.authorizer.tenant",'
    '"method":"$context.httpMethod","route":"$context.resourcePath","status":"$context.status",'
    '"error":"$context.error.responseType","latencyMs":"$context.responseLatency"}'
)


def add_access_logs(sam: dict[str, Any], api: str) -> None:
    """API Gateway access logs into a log group of the stack. API Gateway writes them with the
    account's API Gateway CloudWatch Logs role, set once per account and region (docs/deploy.md)."""
    sam["Resources"]["ApiAccessLogGroup"] = {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "RetentionInDays": {"Ref": "LogRetentionDays"},
            "KmsKeyId": {"Fn::If": ["UseCmk", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]},
        },
    }
    sam["Resources"][api]["Properties"]["AccessLogSetting"] = {
        "DestinationArn": {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]},
        "Format": ACCESS_LOG_FORMAT,
    }
