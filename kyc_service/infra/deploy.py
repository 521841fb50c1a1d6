"""Deploying a stage with `chalice deploy` (`python -m kyc_service deploy --stage S`): the
resources stack from infra/resources.yaml, then `chalice deploy` with the stack's outputs (stream
ARN, user pool), then the hardening (kyc_service.infra.hardening). The SAM path is
kyc_service.infra.packaging.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from chalicelib.stage import ROOT, stage_environment
from kyc_service.infra import chalice_patches, roles
from kyc_service.infra.backfill import backfill_id_number_keys, backfill_status_keys
from kyc_service.infra.hardening import (
    access_logs,
    dead_letter_bundles,
    harden_mappings,
    keep_logs,
    put_gateway_responses,
    throttle_stage,
)
from kyc_service.infra.iam import render_policy_file
from kyc_service.infra.indexes import index_steps, live_indexes, wait_active
from kyc_service.infra.packaging import DIST, LAMBDA_RUNTIME, build_vendor, stage_project
from kyc_service.infra.sam import is_placeholder
from kyc_service.infra.template import (
    TEMPLATE_PATH,
    load_template,
    resolver,
    stack_name,
    stack_status,
    stage_parameters,
)


def deploy_resources_stack(
    stage: str,
    cfn=None,
    region: str | None = None,
    endpoint_url: str | None = None,
    existing_user_pool_id: str | None = None,
    ddb=None,
    console_url: str | None = None,
) -> dict[str, str]:
    """Create or update the stack `kyc-service-<stage>-resources`; returns its outputs.

    The user pool: `existing_user_pool_id`, else the stage's KYC_USER_POOL_ID unless it
    is a REPLACE_... placeholder, else the stack creates one. An update that adds (or removes)
    more than one DynamoDB index of a table goes one index per update (infra/indexes.py).
    `console_url`: the review console's URL, the OAuth callback of its app client (kept from
    the last update when not given)."""
    import boto3

    session = boto3.session.Session(region_name=region)
    cfn = cfn or session.client("cloudformation", endpoint_url=endpoint_url)
    env = stage_environment(stage)
    params = {
        "Stage": stage,
        "DocumentBucketName": env.get("KYC_BUCKET", ""),
        "ExistingUserPoolId": existing_user_pool_id
        or ("" if is_placeholder(env.get("KYC_USER_POOL_ID")) else env["KYC_USER_POOL_ID"]),
        **stage_parameters(env),
    }
    exists = stack_status(cfn, stack_name(stage)) is not None
    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]
    if console_url is not None:
        parameters.append({"ParameterKey": "ConsoleUrl", "ParameterValue": console_url})
    elif exists and _stack_parameters(cfn, stack_name(stage)).get("ConsoleUrl"):  # kept from the last update
        parameters.append(
            {"ParameterKey": "ConsoleUrl", "ParameterValue": _stack_parameters(cfn, stack_name(stage))["ConsoleUrl"]}
        )
    kw = {"StackName": stack_name(stage), "TemplateBody": TEMPLATE_PATH.read_text(), "Parameters": parameters}
    if exists:
        ddb = ddb or session.client("dynamodb", endpoint_url=endpoint_url)
        for step in _index_steps(stage, ddb, params)[:-1]:  # intermediate templates, one index each
            _update(cfn, dict(kw, TemplateBody=json.dumps(step)))
            wait_active(ddb, list(_table_names(stage, params).values()))
        _update(cfn, kw)
    else:
        cfn.create_stack(**kw)
        cfn.get_waiter("stack_create_complete").wait(StackName=kw["StackName"])
    stack = cfn.describe_stacks(StackName=kw["StackName"])["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _stack_parameters(cfn, name: str) -> dict[str, str]:
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    return {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}


def _update(cfn, kw: dict) -> None:
    try:
        cfn.update_stack(**kw)
        cfn.get_waiter("stack_update_complete").wait(StackName=kw["StackName"])
    except cfn.exceptions.ClientError as exc:
        if "No updates are to be performed" not in str(exc):
            raise


def _table_names(stage: str, params: dict) -> dict[str, str]:
    r = resolver(stage, **{k: v for k, v in params.items() if k != "Stage"})
    return {
        lid: r.properties(lid)["TableName"]
        for lid, res in r.template["Resources"].items()
        if res["Type"] == "AWS::DynamoDB::Table"
    }


def _index_steps(stage: str, ddb, params: dict) -> list[dict]:
    return index_steps(load_template(), live_indexes(ddb, _table_names(stage, params)))


def deploy(
    stage: str,
    region: str | None = None,
    project_dir: str | None = None,
    out_dir: str | os.PathLike | None = None,
    existing_user_pool_id: str | None = None,
) -> dict:
    """Resources stack, then `chalice deploy` wired to its outputs, then hardening."""
    import boto3

    session = boto3.session.Session(region_name=region)
    region = session.region_name or "us-east-1"
    outputs = deploy_resources_stack(
        stage, cfn=session.client("cloudformation"), existing_user_pool_id=existing_user_pool_id
    )
    missing = {"UserPoolId", "TokenIssuer", "KycTableStreamArn", "StreamFailureQueueArn"} - set(outputs)
    if missing:
        raise RuntimeError(f"stack {stack_name(stage)} lacks outputs {sorted(missing)}")
    account = session.client("sts").get_caller_identity()["Account"]
    out = Path(out_dir) if out_dir else DIST / stage
    out.mkdir(parents=True, exist_ok=True)
    policies = out / "policies"  # one role per function, each with only what its code calls
    shutil.rmtree(policies, ignore_errors=True)
    policies.mkdir(parents=True)
    (policies / "policy.json").write_text(
        json.dumps(render_policy_file(stage, region, account, outputs["UserPoolId"]), indent=2)
    )
    for function in roles.functions():
        doc = roles.function_policy(
            stage,
            function,
            outputs["DocumentBucketName"],
            region,
            account,
            outputs["UserPoolId"],
            kms_key=outputs.get("KmsKeyArn") or None,
        )
        (policies / f"{function}.json").write_text(json.dumps(doc, indent=2))
    overrides = {
        "KYC_STREAM_ARN": outputs["KycTableStreamArn"],
        "KYC_USER_POOL_ID": outputs["UserPoolId"],
        "KYC_TOKEN_ISSUER": outputs["TokenIssuer"],
        "KYC_BUCKET": outputs["DocumentBucketName"],
        "KYC_TOKEN_AUDIENCE": outputs.get("TokenAudience", ""),
    }
    project = Path(project_dir or ROOT).resolve()
    proj = stage_project(project, out, build_vendor(project, cache_dir=DIST / ".vendor"))
    # chalice deploy keeps its state in .chalice/deployed/<stage>.json: carry it over.
    deployed = project / ".chalice" / "deployed"
    if deployed.is_dir():
        shutil.copytree(deployed, proj / ".chalice" / "deployed")
    env = dict(os.environ, KYC_STREAM_ARN=outputs["KycTableStreamArn"], AWS_DEFAULT_REGION=region)
    proc = chalice_patches.run(
        "deploy", LAMBDA_RUNTIME, [str(proj), stage, str(policies), json.dumps(overrides)], env, project_root=ROOT
    )
    print(proc.stdout)
    if proc.returncode != 0:
        raise RuntimeError(f"chalice deploy failed:\n{proc.stderr}")
    if (proj / ".chalice" / "deployed").is_dir():
        shutil.copytree(proj / ".chalice" / "deployed", deployed, dirs_exist_ok=True)
    hardened = harden_mappings(
        stage, lambda_client=session.client("lambda"), failure_queue_arn=outputs["StreamFailureQueueArn"]
    )
    logs = keep_logs(stage, roles.functions(), session.client("logs"))
    if outputs.get("BundleFailureQueueArn"):
        dead_letter_bundles(stage, outputs["BundleFailureQueueArn"], session.client("lambda"))
    state = json.loads((deployed / f"{stage}.json").read_text())
    for res in state.get("resources", []):
        if res.get("resource_type") == "rest_api":
            put_gateway_responses(res["rest_api_id"], apigw_client=session.client("apigateway"))
            throttle_stage(res["rest_api_id"], stage_environment(stage), apigw_client=session.client("apigateway"))
            access_logs(stage, res["rest_api_id"], session.client("logs"), session.client("apigateway"))
            # the review console's sign-in comes back to the console's URL, known only now
            console = res.get("rest_api_url", "").rstrip("/") + "/console"
            if res.get("rest_api_url") and "ConsoleClientId" in outputs and outputs.get("ConsoleUrl") != console:
                outputs = deploy_resources_stack(
                    stage,
                    cfn=session.client("cloudformation"),
                    existing_user_pool_id=existing_user_pool_id,
                    console_url=console,
                )
    # records saved before the review queue's status index existed get its key (once)
    backfilled = backfill_status_keys(session.client("dynamodb"), outputs["KycTableName"])
    # and records saved before the duplicate check's ID-number index get its key (once)
    id_keys = backfill_id_number_keys(session.client("dynamodb"), outputs["KycTableName"])
    return {
        "outputs": outputs,
        "hardened": hardened,
        "status_keys_backfilled": backfilled,
        "id_keys_backfilled": id_keys,
        "log_groups": logs,
    }
