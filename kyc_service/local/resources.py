"""The stage's resources in the embedded AWS, from the one definition (infra/resources.yaml).

`create_local_resources(endpoint_url, stage)` deploys the template into moto server with
CloudFormation `create_stack`, then applies with boto3, read out of the same template, what
moto's CloudFormation does not implement (local/cfn_gaps.py). Idempotent: run it again (or after
a restart of a persisted moto) and it only re-applies settings.
"""

from __future__ import annotations

import time

from kyc_service.infra.template import (
    TEMPLATE_PATH,
    load_template,
    resolver,
    stack_name,
    stack_status,
    stage_parameters,
)
from kyc_service.local.cfn_gaps import LocalApplier
from kyc_service.local.env import embedded_client, local_environment


def local_parameters(existing_user_pool_id: str | None = None) -> dict[str, str]:
    """The template parameters of a local stage (besides Stage): the `local` stage's retention
    periods from .chalice/config.json, no TLS-only policy (moto server speaks plain http on
    loopback), and the user pool."""
    return {
        "ExistingUserPoolId": existing_user_pool_id or "",
        "RequireTls": "false",
        "AccessLogging": "false",  # no S3 server access logs in moto
        **stage_parameters(local_environment()),
    }


def create_local_resources(
    endpoint_url: str,
    stage: str,
    region: str = "us-east-1",
    existing_user_pool_id: str | None = None,
    use_cloudformation: bool = True,
) -> dict:
    """Create (or complete) the stage's resources in moto server at `endpoint_url`.

    Deploys infra/resources.yaml as the CloudFormation stack `kyc-service-<stage>-resources`
    (unless it exists already), then applies with boto3 what moto's CloudFormation
    lacks (local/cfn_gaps.py), reading those properties out of the same template. If the
    stack cannot be created because the resources already exist (a persisted moto
    without the stack), every resource is created/completed with boto3 instead.

    Returns the template's Outputs (KycTableName, KycTableStreamArn, DocumentBucketName,
    NotificationsTopicArn, LicenseQueueUrl/Arn, LicenseDlqUrl/Arn,
    StreamFailureQueueUrl/Arn, UserPoolId, UserPoolClientId, TokenIssuer, ...) plus
    StackName, StackStatus and Applied (what boto3 did).
    """
    account = embedded_client("sts", endpoint_url, region).get_caller_identity()["Account"]
    template = load_template()
    params = {"Stage": stage, **local_parameters(existing_user_pool_id)}
    r = resolver(
        stage, region=region, account=account, template=template, **{k: v for k, v in params.items() if k != "Stage"}
    )
    applier = LocalApplier(endpoint_url, r)
    name = stack_name(stage)
    status = None
    if use_cloudformation:
        cfn = embedded_client("cloudformation", endpoint_url, region)
        status = stack_status(cfn, name)
        if status not in (None, "CREATE_COMPLETE", "UPDATE_COMPLETE"):
            # a failed or rolled-back stack from an earlier run: start over
            cfn.delete_stack(StackName=name)
            status = None
        if status is None:
            try:
                cfn.create_stack(
                    StackName=name,
                    TemplateBody=TEMPLATE_PATH.read_text(),
                    Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in params.items()],
                )
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


def _wait_stack(cfn, name: str, timeout: float = 60) -> str | None:
    deadline = time.monotonic() + timeout
    while True:
        status = stack_status(cfn, name)
        if status is None or not status.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)
