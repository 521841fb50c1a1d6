"""The `chalice deploy` path's hardening, applied with boto3 after Chalice deployed: the event
source mappings get the settings the SAM template gives them (kyc_service.infra.sam), and the
REST API gets the contract's error bodies for the responses API Gateway itself makes.
"""

from __future__ import annotations

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
