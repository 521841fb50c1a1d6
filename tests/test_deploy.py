"""Packaging (chalice package + merge with the stage resources) and the `chalice deploy`
path's hardening, against cfn-lint and moto.

`chalice package` runs once per stage (module fixture); the Lambda wheels are built
once into dist/.vendor (pip, manylinux) and reused.
"""

from __future__ import annotations

import json
import shutil
import textwrap
import zipfile
from pathlib import Path

import boto3
import pytest

from chalicelib.stage import ROOT, stage_environment
from kyc_service.infra import deploy, hardening, packaging, roles, sam, secure, template

STAGES = ("dev", "beta", "prod")
EXPECTED_SIZES = {  # handler -> (memory MB, timeout s), from the brief
    "api_handler": (512, 30),
    "verify_records": (512, 120),
    "update_identity": (256, 30),
    "notify_decisions": (256, 30),
    "intake_bundle": (1024, 120),
    "check_license": (256, 60),
    "jwt_auth": (256, 10),
}
IAM_GUARDED = ("dynamodb:", "s3:", "sns:", "sqs:")


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    result = {}
    for stage in STAGES:
        info = packaging.package(stage, project_dir=ROOT, out_dir=out / stage)
        result[stage] = (json.loads(Path(info["template"]).read_text()), info)
    return result


def _functions(template: dict) -> dict[str, dict]:
    """Chalice handler name -> function properties."""
    out = {}
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            props = res["Properties"]
            handler = props["Handler"].split(".", 1)[1]
            out["api_handler" if handler == "app" else handler] = props
    return out


def _events(template: dict, kind: str) -> list[tuple[str, dict]]:
    return [
        (name, ev["Properties"])
        for name, props in _functions(template).items()
        for ev in props.get("Events", {}).values()
        if ev["Type"] == kind
    ]


@pytest.mark.parametrize("stage", STAGES)
def test_packaged_template_passes_cfn_lint(packaged, stage):
    from cfnlint.api import ManualArgs, lint

    template, _ = packaged[stage]
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    assert [str(m) for m in matches] == []


@pytest.mark.parametrize("stage", STAGES)
def test_stream_mappings_are_hardened(packaged, stage):
    template, _ = packaged[stage]
    streams = _events(template, "DynamoDB")
    assert sorted(name for name, _ in streams) == sorted(sam.STREAM_HANDLERS)
    for _, p in streams:
        assert p["Stream"] == {"Fn::GetAtt": ["KycTable", "StreamArn"]}
        assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert p["BisectBatchOnFunctionError"] is True
        assert 0 < p["MaximumRetryAttempts"] <= 10
        assert 60 <= p["MaximumRecordAgeInSeconds"] <= 86400
        assert p["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["StreamFailureQueue", "Arn"]}
    sqs = dict(_events(template, "SQS"))
    assert sqs["check_license"]["Queue"] == {"Fn::GetAtt": ["LicenseQueue", "Arn"]}
    for p in sqs.values():
        assert p["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    ((name, s3),) = _events(template, "S3")
    assert name == sam.S3_HANDLER
    assert s3["Bucket"] == {"Ref": "DocumentBucket"}
    assert {"Name": "prefix", "Value": "zipped/"} in s3["Filter"]["S3Key"]["Rules"]


@pytest.mark.parametrize("stage", STAGES)
def test_functions_sizes_runtime_tracing_and_env(packaged, stage):
    template, _ = packaged[stage]
    fns = _functions(template)
    for name, (memory, timeout) in EXPECTED_SIZES.items():
        assert (fns[name]["MemorySize"], fns[name]["Timeout"]) == (memory, timeout), name
    for props in fns.values():
        assert props["Runtime"] == packaging.LAMBDA_RUNTIME
        assert props["Tracing"] == "Active"
        env = props["Environment"]["Variables"]
        assert env["KYC_STAGE"] == stage
        assert env["KYC_TABLE_NAME"] == f"{stage}_kyc_service"
        assert env["KYC_STREAM_ARN"] == {"Fn::GetAtt": ["KycTable", "StreamArn"]}
        assert "Fn::If" in env["KYC_USER_POOL_ID"]
    assert template["Parameters"]["Stage"]["Default"] == stage
    from kyc_service.infra.template import stage_parameters  # the stage's retention periods

    assert {
        name: str(template["Parameters"][name]["Default"]) for name in stage_parameters(stage_environment(stage))
    } == stage_parameters(stage_environment(stage))


@pytest.mark.parametrize("stage", STAGES)
def test_bucket_queue_and_pool_resources(packaged, stage):
    template, _ = packaged[stage]
    res = template["Resources"]
    bucket = res["DocumentBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    with_key, without = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]["Fn::If"][1:]
    assert with_key[0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Ref": "KmsKeyArn"},
    }
    assert without[0]["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    deny = res["DocumentBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    queue = res["LicenseQueue"]["Properties"]
    assert queue["VisibilityTimeout"] == 300
    assert queue["SqsManagedSseEnabled"] == {"Fn::If": ["UseCmk", {"Ref": "AWS::NoValue"}, True]}
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["LicenseDlq", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert res["NotificationsTopic"]["Properties"]["KmsMasterKeyId"] == {
        "Fn::If": ["UseCmk", {"Ref": "KmsKeyArn"}, "alias/aws/sns"]
    }
    assert res["KycTable"]["Properties"]["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert {"KycTableStreamArn", "UserPoolId", "TokenIssuer", "LicenseQueueUrl"} <= set(template["Outputs"])


def _statements(template: dict):
    for logical, res in template["Resources"].items():
        if res["Type"] == "AWS::IAM::Role":
            for pol in res["Properties"].get("Policies", []):
                for st in pol["PolicyDocument"]["Statement"]:
                    yield logical, st["Fn::If"][1] if "Fn::If" in st else st  # (the key's, when given)
        if res["Type"] == "AWS::Serverless::Function":
            assert "Policies" not in res["Properties"]  # no SAM policy templates


@pytest.mark.parametrize("stage", STAGES)
def test_no_wildcard_resources_for_data_services(packaged, stage):
    template, _ = packaged[stage]
    seen = 0
    for logical, st in _statements(template):
        seen += 1
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if any(a.startswith(IAM_GUARDED) for a in actions):
            assert "*" not in resources, (logical, st)
            text = json.dumps(resources)
            assert stage in text, (logical, st)  # the stage's own resources
            for r in resources:  # region/account come from Fn::Sub (S3 ARNs have none)
                assert (isinstance(r, dict) and "${AWS::AccountId}" in r["Fn::Sub"]) or (
                    isinstance(r, str) and r.startswith("arn:aws:s3:::")
                ), r
    assert seen > 0


@pytest.mark.parametrize("stage", STAGES)
def test_gateway_responses_follow_the_error_contract(packaged, stage):
    template, _ = packaged[stage]
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    responses = body["x-amazon-apigateway-gateway-responses"]
    for rtype, status, code in (("UNAUTHORIZED", "401", "unauthorized"), ("ACCESS_DENIED", "403", "forbidden")):
        r = responses[rtype]
        assert r["statusCode"] == status
        rendered = r["responseTemplates"]["application/json"].replace(
            "$context.error.messageString", json.dumps("Unauthorized")
        )
        assert json.loads(rendered) == {"error": {"code": code, "message": "Unauthorized", "details": []}}
    # every gateway response uses a code the app itself uses (one vocabulary for clients)
    from chalicelib.errors import ApiError
    from chalicelib.http.api import CHALICE_ERRORS

    app_codes = {c.code for c in ApiError.__subclasses__()} | {"internal_error"} | set(CHALICE_ERRORS.values())
    for r in responses.values():
        rendered = r["responseTemplates"]["application/json"].replace("$context.error.messageString", '"m"')
        assert json.loads(rendered)["error"]["code"] in app_codes


def test_deployment_zip_is_small_and_has_no_boto(packaged):
    _, info = packaged["dev"]
    with zipfile.ZipFile(info["zip"]) as zf:
        names = zf.namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert not tops & {"boto3", "botocore", "s3transfer"}
    assert "app.py" in tops and "chalicelib" in tops
    assert "chalice/cli/__init__.py" not in names  # only Chalice's runtime part ships
    assert not [n for n in names if n.startswith("kyc_service/")]  # local tools stay out
    assert not [n for n in names if n.endswith("_avx2.cpython-312-x86_64-linux-gnu.so")]
    assert info["zip_mb"] < 10, info["zip_top_level"]


def test_merge_refuses_an_s3_event_on_another_bucket():
    chalice_sam = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Handler": "app.intake_bundle",
                    "Environment": {"Variables": {"KYC_STAGE": "dev"}},
                    "Events": {"E": {"Type": "S3", "Properties": {"Bucket": "someone-elses-bucket"}}},
                },
            }
        }
    }
    with pytest.raises(ValueError, match="someone-elses-bucket"):
        sam.merge(chalice_sam, template.load_template(), stage="dev", environment={"KYC_BUCKET": "dev-kyc-documents"})


STAND_IN_APP = textwrap.dedent("""
    import os
    from chalice import Chalice
    app = Chalice(app_name="kyc-service")
    STREAM = os.environ.get("KYC_STREAM_ARN", "arn:aws:dynamodb:us-east-1:1:table/x/stream/y")

    @app.authorizer()
    def jwt_auth(auth_request):
        return None

    @app.route("/health")
    def health():
        return {"ok": True}

    @app.on_dynamodb_record(stream_arn=STREAM)
    def verify_records(event):
        pass

    @app.on_dynamodb_record(stream_arn=STREAM)
    def update_identity(event):
        pass

    @app.on_dynamodb_record(stream_arn=STREAM)
    def notify_decisions(event):
        pass

    @app.on_s3_event(bucket=os.environ.get("KYC_BUCKET", "dev-kyc-documents"), prefix="zipped/")
    def intake_bundle(event):
        pass

    @app.on_sqs_message(queue="dev-license-queue")
    def check_license(event):
        pass
""")


def test_stand_in_app_packages_the_same_way(tmp_path):
    """The merge depends only on handler kinds and names, not on app.py's details."""
    proj = tmp_path / "proj"
    (proj / ".chalice").mkdir(parents=True)
    (proj / "app.py").write_text(STAND_IN_APP)
    shutil.copy2(ROOT / "requirements.txt", proj / "requirements.txt")
    for f in (ROOT / ".chalice").glob("*.json"):
        shutil.copy2(f, proj / ".chalice" / f.name)
    info = packaging.package("dev", project_dir=proj, out_dir=tmp_path / "out")
    merged = json.loads(Path(info["template"]).read_text())
    assert sorted(n for n, _ in _events(merged, "DynamoDB")) == sorted(sam.STREAM_HANDLERS)
    assert [n for n, _ in _events(merged, "S3")] == ["intake_bundle"]
    from cfnlint.api import ManualArgs, lint

    assert [str(m) for m in lint(json.dumps(merged), config=ManualArgs(regions=["us-east-1"]))] == []


# ------------------------------------------------ the `chalice deploy` path


@pytest.fixture
def aws(env):
    from moto import mock_aws

    env.set(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
    )
    env.unset("AWS_ENDPOINT_URL")
    with mock_aws():
        yield


def _function(lam, role_arn: str, name: str) -> None:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return None\n")
    lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="app.handler", Code={"ZipFile": buf.getvalue()}
    )


def test_harden_mappings_updates_the_stage_mappings(aws):
    iam, lam = boto3.client("iam"), boto3.client("lambda")
    ddb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    role = iam.create_role(
        RoleName="r",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
                ],
            }
        ),
    )["Role"]["Arn"]
    stream = {}
    for stage in ("dev", "beta"):
        kyc = next(t for t in template.table_definitions(stage) if t["LogicalId"] == "KycTable")
        stream[stage] = ddb.create_table(
            TableName=kyc["TableName"],
            KeySchema=kyc["KeySchema"],
            AttributeDefinitions=kyc["AttributeDefinitions"],
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=kyc["GlobalSecondaryIndexes"],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
    failure_url = sqs.create_queue(QueueName="dev-kyc-stream-failures")["QueueUrl"]
    failure_arn = sqs.get_queue_attributes(QueueUrl=failure_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    license_url = sqs.create_queue(QueueName="dev-license-queue")["QueueUrl"]
    license_arn = sqs.get_queue_attributes(QueueUrl=license_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    uuids = {}
    for stage in ("dev", "beta"):
        for handler in sam.STREAM_HANDLERS:
            name = f"kyc-service-{stage}-{handler}"
            _function(lam, role, name)
            uuids[(stage, handler)] = lam.create_event_source_mapping(
                EventSourceArn=stream[stage], FunctionName=name, StartingPosition="TRIM_HORIZON", BatchSize=10
            )["UUID"]
    _function(lam, role, "kyc-service-dev-check_license")
    sqs_uuid = lam.create_event_source_mapping(
        EventSourceArn=license_arn, FunctionName="kyc-service-dev-check_license", BatchSize=5
    )["UUID"]

    done = hardening.harden_mappings("dev", lambda_client=lam, sqs_client=sqs)

    assert sorted(d["UUID"] for d in done) == sorted([uuids[("dev", h)] for h in sam.STREAM_HANDLERS] + [sqs_uuid])
    for handler in sam.STREAM_HANDLERS:
        m = lam.get_event_source_mapping(UUID=uuids[("dev", handler)])
        assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert m["BisectBatchOnFunctionError"] is True
        assert m["MaximumRetryAttempts"] == sam.STREAM_MAPPING_SETTINGS["MaximumRetryAttempts"]
        assert m["MaximumRecordAgeInSeconds"] == sam.STREAM_MAPPING_SETTINGS["MaximumRecordAgeInSeconds"]
        assert m["DestinationConfig"]["OnFailure"]["Destination"] == failure_arn
        assert m["BatchSize"] == 10  # untouched
        other = lam.get_event_source_mapping(UUID=uuids[("beta", handler)])
        assert not other.get("BisectBatchOnFunctionError")  # another stage: untouched
        assert not other.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    m = lam.get_event_source_mapping(UUID=sqs_uuid)
    assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # idempotent
    assert len(hardening.harden_mappings("dev", lambda_client=lam, sqs_client=sqs)) == len(done)


def test_resources_stack_deploys_and_reports_outputs(aws):
    cfn = boto3.client("cloudformation")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outputs = deploy.deploy_resources_stack("beta", cfn=cfn)
        again = deploy.deploy_resources_stack("beta", cfn=cfn)  # update path, no error
    assert outputs["KycTableName"] == "beta_kyc_service"
    assert ":table/beta_kyc_service/stream/" in outputs["KycTableStreamArn"]
    assert outputs["DocumentBucketName"] == stage_environment("beta")["KYC_BUCKET"]
    assert outputs["LicenseQueueArn"].endswith(":beta-license-queue")
    assert again["KycTableStreamArn"] == outputs["KycTableStreamArn"]


def test_gateway_responses_for_the_chalice_deploy_path(aws):
    apigw = boto3.client("apigateway")
    api = apigw.create_rest_api(name="kyc-service")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    hardening.put_gateway_responses(api, apigw_client=apigw)
    r = apigw.get_gateway_response(restApiId=api, responseType="ACCESS_DENIED")
    assert r["statusCode"] == "403"
    assert '"code": "forbidden"' in r["responseTemplates"]["application/json"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_deploy_path_end_to_end_on_moto_server(tmp_path, env):
    """`deploy`: resources stack -> chalice deploy (real Chalice deployer, in a
    subprocess, against moto server via AWS_ENDPOINT_URL) -> harden-mappings.

    The stand-in app has the stream and SQS handlers only: moto 5.2.5 answers 500 to
    Chalice's ImportRestApi (routes + authorizer) and to the Filter rules of its
    PutBucketNotificationConfiguration ("Prefix" capitalised), both valid on AWS."""
    import warnings

    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        env.set(
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_REGION="us-east-1",
        )
        app = (
            STAND_IN_APP.split("@app.authorizer()")[0]
            + "@app.on_dynamodb_record"
            + STAND_IN_APP.split("@app.on_dynamodb_record", 1)[1]
        )
        app = app.split("@app.on_s3_event")[0] + "@app.on_sqs_message" + app.split("@app.on_sqs_message", 1)[1]
        proj = tmp_path / "proj"
        (proj / ".chalice").mkdir(parents=True)
        (proj / "app.py").write_text(app)
        shutil.copy2(ROOT / "requirements.txt", proj / "requirements.txt")
        for f in (ROOT / ".chalice").glob("*.json"):
            shutil.copy2(f, proj / ".chalice" / f.name)
        pool = boto3.client("cognito-idp").create_user_pool(PoolName="dev-kyc-users")["UserPool"]["Id"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = deploy.deploy("dev", project_dir=str(proj), out_dir=tmp_path / "out", existing_user_pool_id=pool)

        outputs = result["outputs"]
        assert outputs["UserPoolId"] == pool
        hardened = {d["FunctionName"] for d in result["hardened"]}
        assert hardened == {f"kyc-service-dev-{h}" for h in sam.STREAM_HANDLERS + ("check_license",)}
        lam = boto3.client("lambda")
        mappings = lam.list_event_source_mappings()["EventSourceMappings"]
        streams = [m for m in mappings if "/stream/" in m["EventSourceArn"]]
        assert len(streams) == 3
        for m in streams:
            assert m["EventSourceArn"] == outputs["KycTableStreamArn"]
            assert m["BisectBatchOnFunctionError"] is True
            assert m["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            assert m["DestinationConfig"]["OnFailure"]["Destination"] == outputs["StreamFailureQueueArn"]
        fn = lam.get_function_configuration(FunctionName="kyc-service-dev-verify_records")
        assert (fn["MemorySize"], fn["Timeout"]) == EXPECTED_SIZES["verify_records"]
        assert fn["Runtime"] == packaging.LAMBDA_RUNTIME
        env = fn["Environment"]["Variables"]
        assert env["KYC_STREAM_ARN"] == outputs["KycTableStreamArn"]
        assert env["KYC_USER_POOL_ID"] == pool and env["KYC_TOKEN_ISSUER"].endswith(pool)
        iam = boto3.client("iam")
        role = "kyc-service-dev-verify_records"
        name = iam.list_role_policies(RoleName=role)["PolicyNames"][0]
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        text = json.dumps(doc)
        assert "${" not in text
        assert "arn:aws:dynamodb:us-east-1:123456789012:table/dev_kyc_service" in text
        # its own role, derived from its code (roles.py): no SNS, no S3 deletes, no KMS
        assert doc == roles.function_policy(
            "dev", "verify_records", outputs["DocumentBucketName"], "us-east-1", "123456789012", pool
        )
        # (the verifier writes only the ID portrait's crop: S3 puts, never deletes)
        assert not {"sns:Publish", "s3:DeleteObject", "kms:Decrypt"} & {
            a for st in doc["Statement"] for a in st["Action"]
        }
        logs = boto3.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/kyc-service-dev-")
        kept = {g["logGroupName"]: g.get("retentionInDays") for g in logs["logGroups"]}
        days = int(stage_environment("dev")["KYC_LOG_RETENTION_DAYS"])
        assert kept["/aws/lambda/kyc-service-dev-verify_records"] == days
        assert result["log_groups"]["/aws/lambda/kyc-service-dev-jwt_auth"] == days
        assert (proj / ".chalice" / "deployed" / "dev.json").exists()
    finally:
        import requests

        requests.post(f"http://127.0.0.1:{port}/moto-api/reset", timeout=10)  # shared backends
        server.stop()


# -- issue 17: a deployed stage secure by default -----------------------------------------------


def _roles(template: dict) -> dict[str, dict]:
    """Chalice function name -> its role's one policy document."""
    out = {}
    for logical, props in ((k, r["Properties"]) for k, r in template["Resources"].items()):
        if template["Resources"][logical]["Type"] == "AWS::Serverless::Function":
            role = template["Resources"][props["Role"]["Fn::GetAtt"][0]]["Properties"]
            (policy,) = role["Policies"]
            out[secure.chalice_function(props)] = policy["PolicyDocument"]
    return out


@pytest.mark.parametrize("stage", STAGES)
def test_each_role_is_derived_from_its_functions_calls(packaged, stage):
    template, _ = packaged[stage]
    found = _roles(template)
    assert set(found) == set(roles.functions())
    for function, doc in found.items():
        expected = sam._sub_placeholders(
            roles.function_policy(stage, function), template["Outputs"]["UserPoolId"]["Value"]
        )
        # the customer-managed key's statement, only when the stack is given one (KmsKeyArn)
        conditional = [st for st in doc["Statement"] if "Fn::If" in st]
        doc = {**doc, "Statement": [st for st in doc["Statement"] if "Fn::If" not in st]}
        if function == "jwt_auth":
            assert conditional == []
        else:
            assert conditional == [
                {
                    "Fn::If": [
                        "UseCmk",
                        {
                            "Sid": "CustomerManagedKey",
                            "Effect": "Allow",
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                            "Resource": [{"Fn::Sub": "${KmsKeyArn}"}],
                        },
                        {"Ref": "AWS::NoValue"},
                    ]
                }
            ]
        for st in expected["Statement"]:
            if st["Sid"] == "Logs":  # its own log group, made by the stack
                st["Resource"] = [{"Fn::GetAtt": [f"{_logical(template, function)}LogGroup", "Arn"]}]
        assert doc == expected, function
    actions = {a for st in found["jwt_auth"]["Statement"] for a in st["Action"]}
    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _logical(template: dict, function: str) -> str:
    return next(
        k
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function" and secure.chalice_function(r["Properties"]) == function
    )


@pytest.mark.parametrize("stage", STAGES)
def test_log_groups_keep_logs_for_the_stage_retention(packaged, stage):
    template, _ = packaged[stage]
    res = template["Resources"]
    days = int(stage_environment(stage)["KYC_LOG_RETENTION_DAYS"])
    assert template["Parameters"]["LogRetentionDays"]["Default"] == days
    for function in roles.functions():
        logical = _logical(template, function)
        group = res[f"{logical}LogGroup"]["Properties"]
        assert group["LogGroupName"] == f"/aws/lambda/kyc-service-{stage}-{function}"
        assert res[logical]["Properties"]["FunctionName"] == f"kyc-service-{stage}-{function}"
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    groups = [r for r in res.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert all("RetentionInDays" in g["Properties"] for g in groups)
    for _, st in _statements(template):  # the stack makes the groups: no function creates one
        assert "logs:CreateLogGroup" not in st["Action"]


@pytest.mark.parametrize("stage", STAGES)
def test_api_stage_is_throttled_and_traced(packaged, stage):
    template, _ = packaged[stage]
    env = stage_environment(stage)
    api = template["Resources"]["RestAPI"]["Properties"]
    assert api["MethodSettings"] == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
            "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
        }
    ]
    assert template["Parameters"]["ApiRateLimit"]["Default"] == int(env["KYC_API_RATE_LIMIT"])
    assert template["Parameters"]["ApiBurstLimit"]["Default"] == int(env["KYC_API_BURST_LIMIT"])
    assert api["TracingEnabled"] is True


@pytest.mark.parametrize("stage", STAGES)
def test_token_audience_is_the_stage_app_clients(packaged, stage):
    template, _ = packaged[stage]
    for props in _functions(template).values():
        assert props["Environment"]["Variables"]["KYC_TOKEN_AUDIENCE"] == {
            "Fn::If": [
                "CreateUserPool",
                {"Fn::Join": [",", [{"Ref": "UserPoolClient"}, {"Ref": "ConsoleClient"}]]},
                {"Ref": "TokenAudience"},
            ]
        }


@pytest.mark.parametrize("stage", STAGES)
def test_browser_uploads_are_presigned_posts_from_configured_origins(packaged, stage):
    template, _ = packaged[stage]
    cors = template["Resources"]["DocumentBucket"]["Properties"]["CorsConfiguration"]
    assert cors["Fn::If"][0] == "HasCorsOrigins"  # no origin configured: no CORS rule at all
    (rule,) = cors["Fn::If"][1]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]
    assert rule["AllowedOrigins"] == {"Ref": "UploadCorsOrigins"}
    assert template["Parameters"]["UploadCorsOrigins"]["Default"] == ""  # never "*" by default


@pytest.mark.parametrize("stage", STAGES)
def test_user_pool_names_are_case_insensitive_with_mfa_option(packaged, stage):
    template, _ = packaged[stage]
    pool = template["Resources"]["UserPool"]["Properties"]
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert pool["MfaConfiguration"] == {"Ref": "AdminMfa"}
    assert template["Parameters"]["AdminMfa"]["Default"] == "OPTIONAL"


@pytest.mark.parametrize("stage", STAGES)
def test_failed_bundle_intakes_are_kept_in_a_dead_letter_queue(packaged, stage):
    """S3 invokes intake_bundle asynchronously: after Lambda's retries an event is kept, not dropped."""
    template, _ = packaged[stage]
    fns = _functions(template)
    assert fns["intake_bundle"]["DeadLetterQueue"] == {
        "Type": "SQS",
        "TargetArn": {"Fn::GetAtt": ["BundleFailureQueue", "Arn"]},
    }
    assert [n for n, p in fns.items() if "DeadLetterQueue" in p] == ["intake_bundle"]
    (sends,) = [st for st in _roles(template)["intake_bundle"]["Statement"] if st.get("Sid") == "BundleFailureQueue"]
    assert sends["Action"] == ["sqs:SendMessage"]


# -- checkov over the packaged templates: every finding fixed or justified in docs/deploy.md --------

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"  # `make checkov-venv` (its own virtualenv)


def justified_findings() -> dict[str, list[str]]:
    """docs/deploy.md's table of checkov findings kept on purpose: check id -> resource patterns."""
    import re

    rows = re.findall(r"^\| `(CKV2?_[A-Z0-9_]+)` \| ([^|]+) \|", (ROOT / "docs" / "deploy.md").read_text(), re.M)
    out: dict[str, list[str]] = {}
    for check, resources in rows:  # (a check may have a row per resource, each with its reason)
        out.setdefault(check, []).extend(re.findall(r"`([^`]+)`", resources))
    return out


def checkov_failures(template_path: str) -> list[tuple[str, str]]:
    import subprocess

    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: `make checkov-venv` builds it (make test does)")
    proc = subprocess.run(
        [str(CHECKOV), "-f", template_path, "--framework", "cloudformation", "-o", "json", "--quiet", "--compact"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr  # 1: findings
    reports = json.loads(proc.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    assert reports and all(r["summary"]["parsing_errors"] == 0 for r in reports), proc.stdout[:2000]
    return sorted((c["check_id"], c["resource"]) for r in reports for c in r["results"]["failed_checks"])


@pytest.mark.parametrize("stage", STAGES)
def test_checkov_findings_are_all_justified(packaged, stage):
    from fnmatch import fnmatch

    _, info = packaged[stage]
    justified = justified_findings()
    unjustified = [
        (check, resource)
        for check, resource in checkov_failures(info["template"])
        if not any(fnmatch(resource, pattern) for pattern in justified.get(check, []))
    ]
    assert unjustified == []


def test_justifications_are_not_blanket():
    """Each justified finding names its resources; none is justified for every resource."""
    justified = justified_findings()
    assert justified, "docs/deploy.md lists no checkov findings"
    for check, patterns in justified.items():
        assert patterns, check
        assert not [p for p in patterns if p in ("*", "*.*") or p.startswith("*")], (check, patterns)


def test_chalice_deploy_path_throttles_and_logs_the_stage(aws):
    apigw = boto3.client("apigateway")
    api = apigw.create_rest_api(name="kyc-service")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api, stageName="api")
    hardening.throttle_stage(api, stage_environment("prod"), apigw_client=apigw)
    arn = hardening.access_logs("prod", api, boto3.client("logs"), apigw)
    stage = apigw.get_stage(restApiId=api, stageName="api")
    assert stage["accessLogSettings"] == {"destinationArn": arn, "format": secure.ACCESS_LOG_FORMAT}
    assert arn.endswith(":log-group:/aws/apigateway/kyc-service-prod-access")
    (group,) = boto3.client("logs").describe_log_groups(logGroupNamePrefix="/aws/apigateway/")["logGroups"]
    assert group["retentionInDays"] == int(stage_environment("prod")["KYC_LOG_RETENTION_DAYS"])
    every = stage["methodSettings"]["*/*"]
    env = stage_environment("prod")
    assert every["throttlingRateLimit"] == float(env["KYC_API_RATE_LIMIT"])
    assert every["throttlingBurstLimit"] == int(env["KYC_API_BURST_LIMIT"])
    assert stage["tracingEnabled"] is True


def test_chalice_deploy_path_gives_the_bundle_intake_its_dead_letter_queue(aws):
    """(moto 5.2.5 accepts DeadLetterConfig but does not report it back: the call is what is checked)"""
    iam, lam = boto3.client("iam"), boto3.client("lambda")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    _function(lam, role, "kyc-service-dev-intake_bundle")
    arn = "arn:aws:sqs:us-east-1:123456789012:dev-kyc-bundle-failures"
    assert hardening.dead_letter_bundles("dev", arn, lam) == "kyc-service-dev-intake_bundle"
    assert hardening.dead_letter_bundles("beta", arn, lam) is None  # no such function: nothing to do
