"""Packaging and deployment of a stage: `package`, `deploy`, `harden-mappings`.

Two paths, one resource definition (infra/resources.yaml, see kyc_service.infra.resources):

* SAM / CloudFormation: `python -m kyc_service package --stage S` runs `chalice package`
  and merges its SAM template with the stage resources into ONE template
  (dist/S/sam.json + dist/S/deployment.zip), deployable with `sam deploy` or
  `aws cloudformation package/deploy`. The merge (`merge`) wires the stream handlers
  to the KYC table's stream with hardened settings, the S3 handler to the document
  bucket, the SQS handler to the licence queue, the IAM placeholders to real ARNs and
  the API's 401/403 bodies to the contract's error shape.
* `python -m kyc_service deploy --stage S`: deploys the resources stack, then
  `chalice deploy` with the stack's outputs (stream ARN, user pool), then
  `harden_mappings` and the API's gateway responses with boto3.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Iterable

from chalicelib.stage import APP_NAME, ROOT, function_name, resource_names, stage_environment
from kyc_service.infra import resources as R

DIST = ROOT / "dist"

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

# The Lambda runtime the stage runs on. Not python3.11 (what the local interpreter
# would make Chalice pick): python3.11 Lambda is Amazon Linux 2 (glibc 2.26), and the
# pinned rapidfuzz 3.14.6 ships only manylinux_2_27/2_28 wheels. python3.12 is Amazon
# Linux 2023 (glibc 2.34); the code is pure Python that runs on 3.11 and 3.12.
LAMBDA_RUNTIME = "python3.12"
LAMBDA_PYTHON = "3.12"
LAMBDA_GLIBC_MINOR = 34

# The Lambda runtime provides these (boto3 and what only it needs): never shipped.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Packaging / dev tools never needed at runtime (chalice's runtime part is added by
# `chalice package` itself).
NOT_SHIPPED = ("chalice",)


def _error_template(code: str) -> str:
    # $context.error.messageString is already a JSON string literal ("...").
    return '{"error": {"code": "%s", "message": $context.error.messageString, "details": []}}' % code


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


# ------------------------------------------------------------------ the merge

def _stage_of(sam: dict) -> str | None:
    for res in sam.get("Resources", {}).values():
        if res.get("Type") == "AWS::Serverless::Function":
            env = res.get("Properties", {}).get("Environment", {}).get("Variables", {})
            if "KYC_STAGE" in env:
                return env["KYC_STAGE"]
    return None


def _placeholder(value: str | None) -> bool:
    return not value or value.startswith("REPLACE_")


def _sub_placeholders(value: Any, pool_expr: Any) -> Any:
    """Wrap strings holding ${AWS::...}/${UserPoolId} placeholders in Fn::Sub."""
    if isinstance(value, dict):
        return {k: _sub_placeholders(v, pool_expr) for k, v in value.items()}
    if isinstance(value, list):
        return [_sub_placeholders(v, pool_expr) for v in value]
    if isinstance(value, str) and "${" in value:
        if R.POOL_TOKEN in value:
            return {"Fn::Sub": [value, {"UserPoolId": pool_expr}]}
        return {"Fn::Sub": value}
    return value


def merge(chalice_sam_template: dict, resources: dict, stage: str | None = None,
          environment: dict[str, str] | None = None) -> dict:
    """One template: Chalice's SAM output + the stage resources, hardened.

    * every DynamoDB event: Stream = KycTable.StreamArn, ReportBatchItemFailures,
      bisect on error, bounded retries and record age, failures to StreamFailureQueue;
    * every SQS event: Queue = LicenseQueue.Arn / LicenseDlq.Arn (by the queue it names),
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
    if not _placeholder(env.get("KYC_USER_POOL_ID")):
        params["ExistingUserPoolId"]["Default"] = env["KYC_USER_POOL_ID"]
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
    queue_ids = {names.license_queue: "LicenseQueue", names.license_dlq: "LicenseDlq"}
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
            variables["KYC_BUCKET"] = copy.deepcopy(
                res["Resources"]["DocumentBucket"]["Properties"]["BucketName"])
            for event in props.get("Events", {}).values():
                ep = event.setdefault("Properties", {})
                if event["Type"] == "DynamoDB":
                    ep["Stream"] = stream_arn
                    ep.update(copy.deepcopy(STREAM_MAPPING_SETTINGS))
                    ep["DestinationConfig"] = {"OnFailure": {"Type": "SQS",
                                                             "Destination": failure_arn}}
                elif event["Type"] == "SQS":
                    queue = json.dumps(ep.get("Queue"))
                    for name, queue_id in queue_ids.items():
                        if queue.endswith(f':{name}"}}') or queue.endswith(f':{name}"'):
                            ep["Queue"] = {"Fn::GetAtt": [queue_id, "Arn"]}
                    ep.update(copy.deepcopy(SQS_MAPPING_SETTINGS))
                elif event["Type"] == "S3":
                    if ep.get("Bucket") not in (bucket_name, {"Ref": "DocumentBucket"}):
                        raise ValueError(f"{logical}: S3 event on {ep.get('Bucket')!r}, "
                                         f"not the stage bucket {bucket_name!r}")
                    ep["Bucket"] = {"Ref": "DocumentBucket"}
        elif r.get("Type") == "AWS::IAM::Role":
            props["Policies"] = _sub_placeholders(props.get("Policies", []), pool_expr)
        elif r.get("Type") == "AWS::Serverless::Api" and "DefinitionBody" in props:
            props["DefinitionBody"]["x-amazon-apigateway-gateway-responses"] = \
                gateway_response_definitions()
    return sam


# ---------------------------------------------------------------- packaging

def _requirements(project_dir: Path) -> list[str]:
    lines = []
    for raw in (project_dir / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name = line.split("[")[0].split("=")[0].split("<")[0].split(">")[0].strip().lower()
        if name in NOT_SHIPPED or name in RUNTIME_PROVIDED:
            continue
        lines.append(line)
    return lines


def build_vendor(project_dir: Path, cache_dir: Path | None = None) -> Path:
    """Lambda (manylinux, LAMBDA_PYTHON) wheels of the runtime requirements, installed in a
    directory that `chalice package` ships as vendor/; minus what Lambda provides.

    pip resolves dependencies (pynamodb pulls botocore), so RUNTIME_PROVIDED packages
    are removed after the install. Cached by the requirements' hash.
    """
    reqs = _requirements(project_dir)
    recipe = reqs + [LAMBDA_RUNTIME, *RUNTIME_PROVIDED, *TRIM_GLOBS]
    digest = hashlib.sha256("\n".join(recipe).encode()).hexdigest()[:16]
    cache_dir = cache_dir or DIST / ".vendor"
    target = cache_dir / digest
    if (target / ".complete").exists():
        return target
    # Built aside and renamed into place: concurrent packagers never see half a tree.
    work = cache_dir / f"{digest}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    req_file = cache_dir / f"{digest}.txt"
    req_file.write_text("\n".join(reqs) + "\n")
    platforms = [f"manylinux_2_{m}_x86_64" for m in range(17, LAMBDA_GLIBC_MINOR + 1)]
    platforms.append("manylinux2014_x86_64")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--target", str(work), "--implementation", "cp", "--python-version", LAMBDA_PYTHON,
           "--only-binary=:all:", "--no-compile", "-r", str(req_file)]
    for p in platforms:
        cmd += ["--platform", p]
    subprocess.run(cmd, check=True)
    _remove_packages(work, RUNTIME_PROVIDED)
    shutil.rmtree(work / "bin", ignore_errors=True)
    trim(work)
    (work / ".complete").write_text("\n".join(reqs))
    try:
        work.rename(target)
    except OSError:  # another packager finished first
        shutil.rmtree(work, ignore_errors=True)
    return target


# Files nothing imports at runtime. rapidfuzz's *_avx2 extension modules are optional
# speed-ups: rapidfuzz imports them inside contextlib.suppress(ImportError) and falls
# back to the baseline (SSE2) modules, which stay.
TRIM_GLOBS = ("**/*.pyi", "**/__pycache__", "**/*.pyc", "rapidfuzz/**/*_avx2*.so",
              "rapidfuzz/__pyinstaller", "**/py.typed")


def trim(site: Path) -> None:
    for pattern in TRIM_GLOBS:
        for path in list(site.glob(pattern)):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _remove_packages(site: Path, names: Iterable[str]) -> None:
    for name in names:
        for path in list(site.glob(name)) + list(site.glob(f"{name}-*.dist-info")):
            shutil.rmtree(path, ignore_errors=True)


def stage_project(project_dir: Path, stage_dir: Path, vendor: Path) -> Path:
    """A copy of the Chalice project to package: app.py, chalicelib/, .chalice config and
    policies, vendor/ from build_vendor, and an empty requirements.txt."""
    proj = stage_dir / "project"
    shutil.rmtree(proj, ignore_errors=True)
    (proj / ".chalice").mkdir(parents=True)
    shutil.copy2(project_dir / "app.py", proj / "app.py")
    if (project_dir / "chalicelib").is_dir():
        shutil.copytree(project_dir / "chalicelib", proj / "chalicelib",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for f in (project_dir / ".chalice").glob("*.json"):
        shutil.copy2(f, proj / ".chalice" / f.name)
    shutil.copytree(vendor, proj / "vendor", ignore=shutil.ignore_patterns(".complete"))
    (proj / "requirements.txt").write_text("# runtime deps are pre-installed in vendor/\n")
    return proj


_RUNTIME_PATCH = r"""
import chalice.config
chalice.config.Config.lambda_python_version = property(lambda self: "%s")
""" % LAMBDA_RUNTIME

_CHALICE_PACKAGE = _RUNTIME_PATCH + r"""
import sys
from chalice import package as cp
from chalice.utils import to_cfn_resource_name

def _s3_event(self, resource, template):
    # Chalice refuses S3 events in SAM output (it cannot change an existing bucket's
    # notifications); kyc_service.infra.deploy.merge points this event at the bucket the
    # same template creates, which SAM supports.
    fn = to_cfn_resource_name(resource.lambda_function.resource_name)
    self._register_cfn_resource_name(resource.resource_name)
    rules = []
    if resource.prefix:
        rules.append({"Name": "prefix", "Value": resource.prefix})
    if resource.suffix:
        rules.append({"Name": "suffix", "Value": resource.suffix})
    props = {"Bucket": resource.bucket, "Events": resource.events}
    if rules:
        props["Filter"] = {"S3Key": {"Rules": rules}}
    template["Resources"][fn]["Properties"].setdefault("Events", {})[
        to_cfn_resource_name(resource.resource_name)] = {"Type": "S3", "Properties": props}

cp.SAMTemplateGenerator._generate_s3bucketnotification = _s3_event

from chalice.cli import main
sys.argv = ["chalice", "--project-dir", sys.argv[1], "package", "--stage", sys.argv[2],
            sys.argv[3]]
sys.exit(main())
"""


def chalice_package(project_dir: Path, stage: str, out_dir: Path,
                    env: dict[str, str] | None = None) -> dict:
    """`chalice package` (the venv's chalice) in a fresh interpreter; returns sam.json."""
    shutil.rmtree(out_dir, ignore_errors=True)
    run_env = dict(os.environ)
    run_env.setdefault("AWS_DEFAULT_REGION", run_env.get("AWS_REGION", "us-east-1"))
    run_env.update(env or {})
    proc = subprocess.run([sys.executable, "-c", _CHALICE_PACKAGE, str(project_dir), stage,
                           str(out_dir)], env=run_env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"chalice package failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads((out_dir / "sam.json").read_text())


def zip_report(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        tops: dict[str, int] = {}
        for info in zf.infolist():
            top = info.filename.split("/", 1)[0]
            tops[top] = tops.get(top, 0) + info.compress_size
    return {"bytes": path.stat().st_size, "mb": round(path.stat().st_size / 2**20, 2),
            "top_level": dict(sorted(tops.items(), key=lambda kv: -kv[1]))}


def package(stage: str, project_dir: str | os.PathLike | None = None,
            out_dir: str | os.PathLike | None = None,
            resources_template: dict | None = None,
            vendor_cache: str | os.PathLike | None = None) -> dict:
    """Build dist/<stage>/: sam.json (merged, hardened) and deployment.zip.

    Returns {"template": path, "zip": path, "zip_mb": float, "chalice_template": path}.
    """
    project = Path(project_dir or ROOT).resolve()
    out = Path(out_dir or DIST / stage).resolve()
    out.mkdir(parents=True, exist_ok=True)
    vendor = build_vendor(project, cache_dir=Path(vendor_cache) if vendor_cache else None)
    proj = stage_project(project, out, vendor)
    env = stage_environment(stage, root=project)
    chalice_out = out / "chalice"
    sam = chalice_package(proj, stage, chalice_out,
                          env={"KYC_STREAM_ARN": resource_names(stage, env).placeholder_stream_arn()})
    merged = merge(sam, resources_template or R.load_template(), stage=stage, environment=env)
    for r in merged["Resources"].values():
        if r.get("Type") == "AWS::Serverless::Function":
            r["Properties"]["CodeUri"] = "./deployment.zip"
    shutil.copy2(chalice_out / "deployment.zip", out / "deployment.zip")
    (out / "sam.json").write_text(json.dumps(merged, indent=2) + "\n")
    shutil.rmtree(proj, ignore_errors=True)
    report = zip_report(out / "deployment.zip")
    return {"template": str(out / "sam.json"), "zip": str(out / "deployment.zip"),
            "zip_mb": report["mb"], "zip_top_level": report["top_level"],
            "chalice_template": str(chalice_out / "sam.json")}


# ------------------------------------------------- the `chalice deploy` path

def _functions(lambda_client, prefix: str) -> dict[str, str]:
    """FunctionArn -> FunctionName of the functions whose name starts with prefix."""
    out = {}
    for page in lambda_client.get_paginator("list_functions").paginate():
        out.update({f["FunctionArn"]: f["FunctionName"] for f in page["Functions"]
                    if f["FunctionName"].startswith(prefix)})
    return out


def _queue_arn(sqs, name: str) -> str:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]


def harden_mappings(stage: str, lambda_client=None, failure_queue_arn: str | None = None,
                    sqs_client=None, app_name: str = APP_NAME,
                    region: str | None = None, endpoint_url: str | None = None) -> list[dict]:
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
                settings = dict(STREAM_MAPPING_SETTINGS, DestinationConfig={
                    "OnFailure": {"Destination": failure_queue_arn}})
            elif source.startswith("arn:aws:sqs:") or ":sqs:" in source:
                settings = dict(SQS_MAPPING_SETTINGS)
            else:
                continue
            lam.update_event_source_mapping(UUID=m["UUID"], **settings)
            done.append({"UUID": m["UUID"], "FunctionName": fn, "EventSourceArn": source,
                         "Updated": sorted(settings)})
    return done


def put_gateway_responses(rest_api_id: str, stage_name: str = "api", apigw_client=None,
                          region: str | None = None, endpoint_url: str | None = None) -> None:
    """The `chalice deploy` path's equivalent of the SAM template's gateway responses."""
    import boto3

    apigw = apigw_client or boto3.session.Session(region_name=region).client(
        "apigateway", endpoint_url=endpoint_url)
    for rtype, d in gateway_response_definitions().items():
        kw: dict[str, Any] = {"restApiId": rest_api_id, "responseType": rtype,
                              "responseParameters": d["responseParameters"],
                              "responseTemplates": d["responseTemplates"]}
        if "statusCode" in d:
            kw["statusCode"] = d["statusCode"]
        apigw.put_gateway_response(**kw)
    apigw.create_deployment(restApiId=rest_api_id, stageName=stage_name,
                            description="kyc-service gateway responses")


def deploy_resources_stack(stage: str, cfn=None, region: str | None = None,
                           endpoint_url: str | None = None,
                           existing_user_pool_id: str | None = None) -> dict[str, str]:
    """Create or update the stack `kyc-service-<stage>-resources`; returns its outputs.

    The user pool: `existing_user_pool_id`, else the stage's KYC_USER_POOL_ID unless it
    is a REPLACE_... placeholder, else the stack creates one."""
    import boto3

    cfn = cfn or boto3.session.Session(region_name=region).client(
        "cloudformation", endpoint_url=endpoint_url)
    env = stage_environment(stage)
    params = {"Stage": stage, "DocumentBucketName": env.get("KYC_BUCKET", ""),
              "ExistingUserPoolId": existing_user_pool_id or (
                  "" if _placeholder(env.get("KYC_USER_POOL_ID")) else env["KYC_USER_POOL_ID"])}
    kw = {"StackName": R.stack_name(stage), "TemplateBody": R.TEMPLATE_PATH.read_text(),
          "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]}
    exists = R._stack_status(cfn, R.stack_name(stage)) is not None
    if exists:
        try:
            cfn.update_stack(**kw)
            cfn.get_waiter("stack_update_complete").wait(StackName=kw["StackName"])
        except cfn.exceptions.ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
    else:
        cfn.create_stack(**kw)
        cfn.get_waiter("stack_create_complete").wait(StackName=kw["StackName"])
    stack = cfn.describe_stacks(StackName=kw["StackName"])["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


_CHALICE_DEPLOY = _RUNTIME_PATCH + r"""
import json, sys
from chalice.cli.factory import CLIFactory
from chalice.utils import UI
project_dir, stage, policy_file, env_json = sys.argv[1:5]
import os
factory = CLIFactory(project_dir=project_dir, environ=os.environ)
config = factory.create_config_obj(chalice_stage_name=stage, user_provided_params={
    "iam_policy_file": policy_file, "environment_variables": json.loads(env_json)})
session = factory.create_botocore_session()
ui = UI()
deployer = factory.create_default_deployer(session=session, config=config, ui=ui)
values = deployer.deploy(config, chalice_stage_name=stage)
factory.create_deployment_reporter(ui=ui).display_report(values)
print("KYC_DEPLOYED " + json.dumps(values.get("resources", []), default=str))
"""


def deploy(stage: str, region: str | None = None, project_dir: str | None = None,
           out_dir: str | os.PathLike | None = None,
           existing_user_pool_id: str | None = None) -> dict:
    """Resources stack, then `chalice deploy` wired to its outputs, then hardening."""
    import boto3

    session = boto3.session.Session(region_name=region)
    region = session.region_name or "us-east-1"
    outputs = deploy_resources_stack(stage, cfn=session.client("cloudformation"),
                                     existing_user_pool_id=existing_user_pool_id)
    missing = {"UserPoolId", "TokenIssuer", "KycTableStreamArn",
               "StreamFailureQueueArn"} - set(outputs)
    if missing:
        raise RuntimeError(f"stack {R.stack_name(stage)} lacks outputs {sorted(missing)}")
    account = session.client("sts").get_caller_identity()["Account"]
    out = Path(out_dir) if out_dir else DIST / stage
    out.mkdir(parents=True, exist_ok=True)
    policy = R.render_policy_file(stage, region, account, outputs["UserPoolId"])
    policy_file = out / "policy.json"
    policy_file.write_text(json.dumps(policy, indent=2))
    overrides = {"KYC_STREAM_ARN": outputs["KycTableStreamArn"],
                 "KYC_USER_POOL_ID": outputs["UserPoolId"],
                 "KYC_TOKEN_ISSUER": outputs["TokenIssuer"],
                 "KYC_BUCKET": outputs["DocumentBucketName"]}
    project = Path(project_dir or ROOT).resolve()
    proj = stage_project(project, out, build_vendor(project, cache_dir=DIST / ".vendor"))
    # chalice deploy keeps its state in .chalice/deployed/<stage>.json: carry it over.
    deployed = project / ".chalice" / "deployed"
    if deployed.is_dir():
        shutil.copytree(deployed, proj / ".chalice" / "deployed")
    env = dict(os.environ, KYC_STREAM_ARN=outputs["KycTableStreamArn"], AWS_DEFAULT_REGION=region)
    proc = subprocess.run([sys.executable, "-c", _CHALICE_DEPLOY, str(proj), stage,
                           str(policy_file), json.dumps(overrides)], env=env, text=True,
                          capture_output=True)
    print(proc.stdout)
    if proc.returncode != 0:
        raise RuntimeError(f"chalice deploy failed:\n{proc.stderr}")
    if (proj / ".chalice" / "deployed").is_dir():
        shutil.copytree(proj / ".chalice" / "deployed", deployed, dirs_exist_ok=True)
    hardened = harden_mappings(stage, lambda_client=session.client("lambda"),
                               failure_queue_arn=outputs["StreamFailureQueueArn"])
    state = json.loads((deployed / f"{stage}.json").read_text())
    for res in state.get("resources", []):
        if res.get("resource_type") == "rest_api":
            put_gateway_responses(res["rest_api_id"], apigw_client=session.client("apigateway"))
    return {"outputs": outputs, "hardened": hardened}


# ----------------------------------------------------------------------- CLI

def _cmd_package(args) -> int:
    result = package(args.stage, out_dir=args.out)
    print(json.dumps({k: v for k, v in result.items() if k != "zip_top_level"}, indent=2))
    return 0


def _cmd_deploy(args) -> int:
    result = deploy(args.stage, region=args.region, existing_user_pool_id=args.user_pool_id)
    print(json.dumps(result, indent=2, default=str))
    return 0


def _cmd_harden(args) -> int:
    print(json.dumps(harden_mappings(args.stage, region=args.region,
                                     endpoint_url=args.endpoint_url), indent=2))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("package", help="chalice package + stage resources -> dist/<stage>/")
    p.add_argument("--stage", required=True)
    p.add_argument("--out", default=None, help="output directory (default dist/<stage>)")
    p.set_defaults(func=_cmd_package)

    p = subparsers.add_parser("deploy", help="resources stack, chalice deploy, harden mappings")
    p.add_argument("--stage", required=True)
    p.add_argument("--region", default=None)
    p.add_argument("--user-pool-id", default=None,
                   help="trust this existing Cognito user pool instead of creating one")
    p.set_defaults(func=_cmd_deploy)

    p = subparsers.add_parser("harden-mappings",
                              help="set retry/bisect/failure settings on the stage's mappings")
    p.add_argument("--stage", required=True)
    p.add_argument("--region", default=None)
    p.add_argument("--endpoint-url", default=None)
    p.set_defaults(func=_cmd_harden)
