"""The SAM template of a stage: Chalice's `chalice package` output merged with the stage's
resources (infra/resources.yaml) into ONE template, hardened. `merge` wires the stream handlers
to the KYC table's stream with hardened settings, the S3 handler to the document bucket, the SQS
handlers to the licence queues, the IAM placeholders to real ARNs and the API's 401/403 bodies
to the contract's error shape (docs/deploy.md).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from chalicelib.stage import resource_names, stage_environment
from kyc_service.infra.iam import POOL_TOKEN
from kyc_service.infra.template import stage_parameters

# Event handlers of app.py this module wires (Chalice function name -> role).
STREAM_HANDLERS = ("verify_records", "update_identity", "notify_decisions")
S3_HANDLER = "intake_bundle"
SQS_HANDLER = "check_license"
AUTHORIZER = "jwt_auth"

# Settings of every DynamoDB stream event source mapping.
STREAM_MAPPING_SETTINGS = {
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "BisectBatchOnFunctionError": True,
    "MaximumRetryAttempts": 5,
    "MaximumRecordAgeInSeconds": 3600,
}
SQS_MAPPING_SETTINGS = {"FunctionResponseTypes": ["ReportBatchItemFailures"]}


def _error_template(code: str) -> str:
    # $context.error.messageString is already a JSON string literal ("...").
    return '{"error": {"code": "' + code + '", "message": $context.error.messageString, "details": []}}'


# API Gateway responses produced before any Lambda runs, in the contract's error shape.
GATEWAY_RESPONSES = {
    "UNAUTHORIZED": (401, "unauthorized"),
    "ACCESS_DENIED": (403, "forbidden"),
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found"),  # unknown route
    "THROTTLED": (429, "throttled"),
    "REQUEST_TOO_LARGE": (413, "payload_too_large"),
    "DEFAULT_5XX": (None, "internal_error"),
}


def gateway_response_definitions() -> dict[str, dict]:
    """The x-amazon-apigateway-gateway-responses of the REST API."""
    out = {}
    for rtype, (status, code) in GATEWAY_RESPONSES.items():
        d: dict[str, Any] = {
            "responseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
            "responseTemplates": {"application/json": _error_template(code)},
        }
        if status is not None:
            d["statusCode"] = str(status)
        out[rtype] = d
    return out


def _stage_of(sam: dict) -> str | None:
    for res in sam.get("Resources", {}).values():
        if res.get("Type") == "AWS::Serverless::Function":
            env = res.get("Properties", {}).get("Environment", {}).get("Variables", {})
            if "KYC_STAGE" in env:
                return env["KYC_STAGE"]
    return None


def is_placeholder(value: str | None) -> bool:
    """A config value still to be filled in (unset, or REPLACE_...)."""
    return not value or value.startswith("REPLACE_")


def _sub_placeholders(value: Any, pool_expr: Any) -> Any:
    """Wrap strings holding ${AWS::...}/${UserPoolId} placeholders in Fn::Sub."""
    if isinstance(value, dict):
        return {k: _sub_placeholders(v, pool_expr) for k, v in value.items()}
    if isinstance(value, list):
        return [_sub_placeholders(v, pool_expr) for v in value]
    if isinstance(value, str) and "${" in value:
        if POOL_TOKEN in value:
            return {"Fn::Sub": [value, {"UserPoolId": pool_expr}]}
        return {"Fn::Sub": value}
    return value


def merge(
    chalice_sam_template: dict, resources: dict, stage: str | None = None, environment: dict[str, str] | None = None
) -> dict:
    """One template: Chalice's SAM output + the stage resources, hardened.

    * every DynamoDB event: Stream = KycTable.StreamArn, ReportBatchItemFailures,
      bisect on error, bounded retries and record age, failures to StreamFailureQueue;
    * every SQS event: Queue = LicenseQueue.Arn / LicenseDlq.Arn / WebhookQueue.Arn (by the queue it names),
      ReportBatchItemFailures;
    * every S3 event: Bucket = DocumentBucket;
    * functions get KYC_STREAM_ARN / KYC_USER_POOL_ID / KYC_TOKEN_ISSUER / KYC_BUCKET
      from the resources;
    * IAM policy placeholders -> Fn::Sub; REST API gets the gateway responses.
    """
    sam = copy.deepcopy(chalice_sam_template)
    res = copy.deepcopy(resources)
    stage = stage or _stage_of(sam) or "dev"
    env = environment if environment is not None else stage_environment(stage)

    # Parameters / conditions / resources / outputs of the resources template.
    params = res.get("Parameters", {})
    params["Stage"]["Default"] = stage
    if env.get("KYC_BUCKET"):
        params["DocumentBucketName"]["Default"] = env["KYC_BUCKET"]
    if not is_placeholder(env.get("KYC_USER_POOL_ID")):
        params["ExistingUserPoolId"]["Default"] = env["KYC_USER_POOL_ID"]
    for name, value in stage_parameters(env).items():  # retention periods (docs/privacy.md)
        params[name]["Default"] = int(value) if params[name]["Type"] == "Number" else value
    for section in ("Parameters", "Conditions", "Resources", "Outputs"):
        theirs = sam.setdefault(section, {})
        for key, value in res.get(section, {}).items():
            if key in theirs:
                raise ValueError(f"{section}.{key} is defined by both Chalice and the resources")
            theirs[key] = value
    sam.setdefault("AWSTemplateFormatVersion", res.get("AWSTemplateFormatVersion"))

    pool_expr = res["Outputs"]["UserPoolId"]["Value"]
    issuer_expr = res["Outputs"]["TokenIssuer"]["Value"]
    stream_arn = {"Fn::GetAtt": ["KycTable", "StreamArn"]}
    failure_arn = {"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}
    names = resource_names(stage, env)
    queue_ids = {
        names.license_queue: "LicenseQueue",
        names.license_dlq: "LicenseDlq",
        names.webhook_queue: "WebhookQueue",
    }
    bucket_name = names.bucket

    for logical, r in sam["Resources"].items():
        props = r.get("Properties", {})
        if r.get("Type") == "AWS::Serverless::Function":
            variables = props.setdefault("Environment", {}).setdefault("Variables", {})
            variables["KYC_STREAM_ARN"] = stream_arn
            variables["KYC_USER_POOL_ID"] = pool_expr
            variables["KYC_TOKEN_ISSUER"] = issuer_expr
            # The bucket's name from parameters only: a Ref to DocumentBucket would make
            # a cycle (bucket notification -> function -> bucket).
            variables["KYC_BUCKET"] = copy.deepcopy(res["Resources"]["DocumentBucket"]["Properties"]["BucketName"])
            for event in props.get("Events", {}).values():
                ep = event.setdefault("Properties", {})
                if event["Type"] == "DynamoDB":
                    ep["Stream"] = stream_arn
                    ep.update(copy.deepcopy(STREAM_MAPPING_SETTINGS))
                    ep["DestinationConfig"] = {"OnFailure": {"Type": "SQS", "Destination": failure_arn}}
                elif event["Type"] == "SQS":
                    queue = json.dumps(ep.get("Queue"))
                    for name, queue_id in queue_ids.items():
                        if queue.endswith((f':{name}"}}', f':{name}"')):
                            ep["Queue"] = {"Fn::GetAtt": [queue_id, "Arn"]}
                    ep.update(copy.deepcopy(SQS_MAPPING_SETTINGS))
                elif event["Type"] == "S3":
                    if ep.get("Bucket") not in (bucket_name, {"Ref": "DocumentBucket"}):
                        raise ValueError(
                            f"{logical}: S3 event on {ep.get('Bucket')!r}, not the stage bucket {bucket_name!r}"
                        )
                    ep["Bucket"] = {"Ref": "DocumentBucket"}
        elif r.get("Type") == "AWS::IAM::Role":
            props["Policies"] = _sub_placeholders(props.get("Policies", []), pool_expr)
        elif r.get("Type") == "AWS::Serverless::Api" and "DefinitionBody" in props:
            props["DefinitionBody"]["x-amazon-apigateway-gateway-responses"] = gateway_response_definitions()
    wire_console(sam, stage)
    from kyc_service.infra.secure import secure

    secure(sam, stage, env, lambda value: _sub_placeholders(value, pool_expr))
    return sam


def wire_console(sam: dict, stage: str) -> None:
    """The review console's sign-in comes back to the console's URL on this template's API."""
    if "RestAPI" not in sam["Resources"] or "ConsoleClient" not in sam["Resources"]:
        return
    from chalicelib.stage import chalice_config

    api_stage = chalice_config()["stages"].get(stage, {}).get("api_gateway_stage", "api")
    api_url = {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/" + api_stage + "/console"}
    # the ConsoleUrl parameter still wins (an API behind a custom domain)
    url = {"Fn::If": ["HasConsoleUrl", {"Ref": "ConsoleUrl"}, api_url]}
    props = sam["Resources"]["ConsoleClient"]["Properties"]
    props["CallbackURLs"] = [url]
    props["LogoutURLs"] = [copy.deepcopy(url)]
    sam["Outputs"]["ConsoleUrl"] = {"Value": copy.deepcopy(url)}
