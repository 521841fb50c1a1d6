"""The `chalice deploy` path's hardening, applied with boto3 after Chalice deployed: the event
source mappings get the settings the SAM template gives them (kyc_service.infra.sam), and the
REST API gets the contract's error bodies for the responses API Gateway itself makes.
"""

from __future__ import annotations

import contextlib
from typing import Any

from chalicelib.stage import APP_NAME, function_name, resource_names, stage_environment
from kyc_service.infra.sam import SQS_MAPPING_SETTINGS, STREAM_MAPPING_SETTINGS, gateway_response_definitions


def _functions(lambda_client, prefix: str) -> dict[str, str]:
    """FunctionArn -> FunctionName of the functions whose name starts with prefix."""
    out = {}
    for page in lambda_client.get_paginator("list_functions").paginate():
        out.update(
            {f["FunctionArn"]: f["FunctionName"] for f in page["Functions"] if f["FunctionName"].startswith(prefix)}
        )
    return out


def _queue_arn(sqs, name: str) -> str:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def harden_mappings(
    stage: str,
    lambda_client=None,
    failure_queue_arn: str | None = None,
    sqs_client=None,
    app_name: str = APP_NAME,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> list[dict]:
    """Give the stage's event source mappings the same settings `merge` puts in the
    SAM template: DynamoDB stream mappings get ReportBatchItemFailures, bisect, bounded
    retries/age and the failure queue as on-failure destination; SQS mappings get
    ReportBatchItemFailures. Functions are Chalice's `<app>-<stage>-<handler>`.

    Returns one {"UUID", "FunctionName", "EventSourceArn", "Updated"} per mapping.
    """
    import boto3

    session = boto3.session.Session(region_name=region)
    lam = lambda_client or session.client("lambda", endpoint_url=endpoint_url)
    if failure_queue_arn is None:
        sqs = sqs_client or session.client("sqs", endpoint_url=endpoint_url)
        failure_queue = resource_names(stage, stage_environment(stage)).failure_queue
        failure_queue_arn = _queue_arn(sqs, failure_queue)
    functions = _functions(lam, function_name(app_name, stage, ""))
    done = []
    # All mappings, matched by function ARN: a mapping may have been created with the
    # function's name or its ARN (Chalice uses the ARN).
    for page in lam.get_paginator("list_event_source_mappings").paginate():
        for m in page["EventSourceMappings"]:
            fn = functions.get(m.get("FunctionArn", "").split(":$LATEST")[0])
            if fn is None:
                continue
            source = m.get("EventSourceArn", "")
            if ":dynamodb:" in source and "/stream/" in source:
                settings = dict(
                    STREAM_MAPPING_SETTINGS, DestinationConfig={"OnFailure": {"Destination": failure_queue_arn}}
                )
            elif source.startswith("arn:aws:sqs:") or ":sqs:" in source:
                settings = dict(SQS_MAPPING_SETTINGS)
            else:
                continue
            lam.update_event_source_mapping(UUID=m["UUID"], **settings)
            done.append({"UUID": m["UUID"], "FunctionName": fn, "EventSourceArn": source, "Updated": sorted(settings)})
    return done


def put_gateway_responses(
    rest_api_id: str,
    stage_name: str = "api",
    apigw_client=None,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> None:
    """The `chalice deploy` path's equivalent of the SAM template's gateway responses."""
    import boto3

    apigw = apigw_client or boto3.session.Session(region_name=region).client("apigateway", endpoint_url=endpoint_url)
    for rtype, d in gateway_response_definitions().items():
        kw: dict[str, Any] = {
            "restApiId": rest_api_id,
            "responseType": rtype,
            "responseParameters": d["responseParameters"],
            "responseTemplates": d["responseTemplates"],
        }
        if "statusCode" in d:
            kw["statusCode"] = d["statusCode"]
        apigw.put_gateway_response(**kw)
    apigw.create_deployment(restApiId=rest_api_id, stageName=stage_name, description="kyc-service gateway responses")


def throttle_stage(rest_api_id: str, env: dict[str, str], stage_name: str = "api", apigw_client=None) -> list[dict]:
    """The SAM template's stage throttling (every method) and tracing, on the `chalice deploy` path."""
    from kyc_service.infra.secure import DEFAULTS

    rate = env.get("KYC_API_RATE_LIMIT") or DEFAULTS["KYC_API_RATE_LIMIT"]
    burst = env.get("KYC_API_BURST_LIMIT") or DEFAULTS["KYC_API_BURST_LIMIT"]
    ops = [
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": str(rate)},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": str(burst)},
        {"op": "replace", "path": "/tracingEnabled", "value": "true"},
    ]
    apigw_client.update_stage(restApiId=rest_api_id, stageName=stage_name, patchOperations=ops)
    return ops


def keep_logs(stage: str, functions: list[str], logs_client, env: dict[str, str] | None = None) -> dict[str, int]:
    """Each function's log group, with the stage's retention period (KYC_LOG_RETENTION_DAYS)."""
    from kyc_service.infra.secure import DEFAULTS

    env = env if env is not None else stage_environment(stage)
    days = int(env.get("KYC_LOG_RETENTION_DAYS") or DEFAULTS["KYC_LOG_RETENTION_DAYS"])
    done = {}
    for function in functions:
        group = f"/aws/lambda/{resource_names(stage).function_prefix}{function}"
        with contextlib.suppress(logs_client.exceptions.ResourceAlreadyExistsException):
            logs_client.create_log_group(logGroupName=group)
        logs_client.put_retention_policy(logGroupName=group, retentionInDays=days)
        done[group] = days
    return done


def dead_letter_bundles(stage: str, queue_arn: str, lambda_client) -> str | None:
    """The SAM template's dead-letter queue of the asynchronously invoked bundle intake."""
    name = f"{resource_names(stage).function_prefix}intake_bundle"
    try:
        lambda_client.update_function_configuration(FunctionName=name, DeadLetterConfig={"TargetArn": queue_arn})
    except lambda_client.exceptions.ResourceNotFoundException:
        return None
    return name


def access_logs(stage: str, rest_api_id: str, logs_client, apigw_client, env: dict[str, str] | None = None) -> str:
    """The SAM template's API access logs on the `chalice deploy` path: a log group with the stage's
    retention, and the stage's access log settings (the same PII-free format)."""
    from kyc_service.infra.secure import ACCESS_LOG_FORMAT, DEFAULTS

    env = env if env is not None else stage_environment(stage)
    group = f"/aws/apigateway/{resource_names(stage).function_prefix}access"
    with contextlib.suppress(logs_client.exceptions.ResourceAlreadyExistsException):
        logs_client.create_log_group(logGroupName=group)
    days = int(env.get("KYC_LOG_RETENTION_DAYS") or DEFAULTS["KYC_LOG_RETENTION_DAYS"])
    logs_client.put_retention_policy(logGroupName=group, retentionInDays=days)
    found = logs_client.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    arn = next(g["arn"] for g in found if g["logGroupName"] == group).removesuffix(":*")
    apigw_client.update_stage(
        restApiId=rest_api_id,
        stageName="api",
        patchOperations=[
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": arn},
            {"op": "replace", "path": "/accessLogSettings/format", "value": ACCESS_LOG_FORMAT},
        ],
    )
    return arn
