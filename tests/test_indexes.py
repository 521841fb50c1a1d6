"""One global secondary index per table per stack update (kyc_service/infra/indexes.py), the
deployment's backfill of the status index key, and the review console's sign-in wiring in the
templates (SAM merge, local stack) and at run time (chalicelib/http/console.py)."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
import yaml

from kyc_service.infra import indexes, template

QUEUE_INDEXES = ["tenant-updated", "tenant-status-updated"]
ALL_INDEXES = [*QUEUE_INDEXES, "tenant-id-number"]  # the duplicate check's index came in the same release


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


def _gsi(t: dict, lid: str = "KycTable") -> list[str]:
    return [i["IndexName"] for i in t["Resources"][lid]["Properties"].get("GlobalSecondaryIndexes", [])]


def _live(names: list[str], tpl: dict) -> dict:
    props = tpl["Resources"]["KycTable"]["Properties"]
    defs = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    return {
        "KycTable": {
            "indexes": {n: defs[n] for n in names},
            "attributes": {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]},
        }
    }


def test_three_new_indexes_go_one_update_at_a_time():
    tpl = template.load_template()
    steps = indexes.index_steps(tpl, _live([], tpl))
    assert [_gsi(s) for s in steps] == [["tenant-updated"], QUEUE_INDEXES, ALL_INDEXES]
    assert steps[-1] is tpl
    first = steps[0]["Resources"]["KycTable"]["Properties"]
    # exactly the attributes the keys use (DynamoDB refuses others)
    assert [a["AttributeName"] for a in first["AttributeDefinitions"]] == [
        "tenant#email",
        "id_type#id",
        "tenant",
        "last_updated_time",
    ]
    assert first["StreamSpecification"] == tpl["Resources"]["KycTable"]["Properties"]["StreamSpecification"]
    # other tables and resources untouched
    assert steps[0]["Resources"]["EventsTable"] == tpl["Resources"]["EventsTable"]


def test_one_change_or_none_needs_no_step_and_a_new_table_is_created_whole():
    tpl = template.load_template()
    assert indexes.index_steps(tpl, _live(QUEUE_INDEXES, tpl)) == [tpl]
    assert indexes.index_steps(tpl, _live(ALL_INDEXES, tpl)) == [tpl]
    assert [_gsi(s) for s in indexes.index_steps(tpl, _live(["tenant-updated"], tpl))] == [QUEUE_INDEXES, ALL_INDEXES]
    assert indexes.index_steps(tpl, {}) == [tpl]  # the table does not exist yet


def test_a_later_issues_third_index_and_removals_step_too():
    tpl = template.load_template()
    later = copy.deepcopy(tpl)
    props = later["Resources"]["KycTable"]["Properties"]
    props["AttributeDefinitions"].append({"AttributeName": "tenant#phone", "AttributeType": "S"})
    props["GlobalSecondaryIndexes"].append(
        {
            "IndexName": "tenant-phone",
            "KeySchema": [{"AttributeName": "tenant#phone", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    )
    steps = indexes.index_steps(later, _live([], tpl))
    assert [_gsi(s) for s in steps] == [["tenant-updated"], QUEUE_INDEXES, ALL_INDEXES, [*ALL_INDEXES, "tenant-phone"]]
    # back to none: one removal per update
    bare = copy.deepcopy(tpl)
    del bare["Resources"]["KycTable"]["Properties"]["GlobalSecondaryIndexes"]
    steps = indexes.index_steps(bare, _live(ALL_INDEXES, tpl))
    assert [_gsi(s) for s in steps] == [QUEUE_INDEXES, ["tenant-updated"], []]


def test_the_deployment_updates_the_stack_one_index_at_a_time(aws):
    """A stack deployed before the review queue: the next deploy adds its two indexes and the duplicate
    check's in three updates."""
    import warnings

    from kyc_service.infra import deploy

    cfn, ddb = boto3.client("cloudformation"), boto3.client("dynamodb")
    old = template.load_template()
    props = old["Resources"]["KycTable"]["Properties"]
    del props["GlobalSecondaryIndexes"]
    props["AttributeDefinitions"] = props["AttributeDefinitions"][:2]
    for lid in ("ConsoleDomain", "ConsoleClient"):
        del old["Resources"][lid]
    for out in ("ConsoleClientId", "ConsoleDomain", "ConsoleUrl", "TokenAudience"):  # (the audience names it)
        del old["Outputs"][out]
    del old["Parameters"]["ConsoleUrl"], old["Conditions"]["HasConsoleUrl"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfn.create_stack(
            StackName="kyc-service-beta-resources",
            TemplateBody=json.dumps(old),
            Parameters=[{"ParameterKey": "Stage", "ParameterValue": "beta"}],
        )
        assert not ddb.describe_table(TableName="beta_kyc_service")["Table"].get("GlobalSecondaryIndexes")

        sent: list[list[str]] = []

        class CloudFormation:
            """moto's stack for reading; updates applied to the table as CloudFormation does, with its
            limit (moto's CloudFormation cannot update a table's indexes): one index per update."""

            exceptions = cfn.exceptions

            def update_stack(self, **kw):
                body = yaml.safe_load(kw["TemplateBody"])  # JSON is YAML too
                props = body["Resources"]["KycTable"]["Properties"]
                live = [
                    i["IndexName"]
                    for i in ddb.describe_table(TableName="beta_kyc_service")["Table"].get("GlobalSecondaryIndexes", [])
                ]
                new = [i for i in props.get("GlobalSecondaryIndexes", []) if i["IndexName"] not in live]
                if len(new) > 1:
                    raise AssertionError("CloudFormation: cannot add more than one index in one update")
                sent.append(_gsi(body))
                if new:
                    ddb.update_table(
                        TableName="beta_kyc_service",
                        AttributeDefinitions=props["AttributeDefinitions"],
                        GlobalSecondaryIndexUpdates=[{"Create": new[0]}],
                    )
                return {"StackId": "x"}

            def get_waiter(self, name):
                return type("Waiter", (), {"wait": lambda self, **kw: None})()

            def __getattr__(self, name):
                return getattr(cfn, name)

        deploy.deploy_resources_stack("beta", cfn=CloudFormation(), ddb=ddb)
    assert sent == [["tenant-updated"], QUEUE_INDEXES, ALL_INDEXES]
    live = ddb.describe_table(TableName="beta_kyc_service")["Table"]["GlobalSecondaryIndexes"]
    assert sorted(i["IndexName"] for i in live) == sorted(ALL_INDEXES)


def test_backfill_gives_old_records_their_status_key(aws):
    from kyc_service.infra.backfill import backfill_status_keys

    ddb = boto3.client("dynamodb")
    template.create_tables(ddb, "local")
    table = "local_kyc_service"
    base = {"tenant": {"S": "acme"}, "last_updated_time": {"N": "1"}}
    ddb.put_item(
        TableName=table,
        Item={
            "tenant#email": {"S": "acme#a@x.com"},
            "id_type#id": {"S": "Passport#1"},
            "validation_status": {"S": "needs_review"},
            **base,
        },
    )
    ddb.put_item(
        TableName=table,
        Item={
            "tenant#email": {"S": "acme#b@x.com"},
            "id_type#id": {"S": "Passport#2"},
            "validation_status": {"S": "verified"},
            "tenant#status": {"S": "acme#verified"},
            **base,
        },
    )
    assert backfill_status_keys(ddb, table) == 1
    assert backfill_status_keys(ddb, table) == 0  # idempotent
    item = ddb.get_item(
        TableName=table, Key={"tenant#email": {"S": "acme#a@x.com"}, "id_type#id": {"S": "Passport#1"}}
    )["Item"]
    assert item["tenant#status"] == {"S": "acme#needs_review"}
    found = ddb.query(
        TableName=table,
        IndexName="tenant-status-updated",
        KeyConditionExpression="#p = :p",
        ExpressionAttributeNames={"#p": "tenant#status"},
        ExpressionAttributeValues={":p": {"S": "acme#needs_review"}},
    )["Items"]
    assert [i["tenant#email"]["S"] for i in found] == ["acme#a@x.com"]


def test_the_sam_template_calls_the_console_back_on_its_own_api():
    from kyc_service.infra import sam

    resources = template.load_template()
    chalice = {"Resources": {"RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {}}}, "Outputs": {}}
    merged = sam.merge(chalice, resources, stage="dev", environment={})
    callback = merged["Resources"]["ConsoleClient"]["Properties"]["CallbackURLs"]
    assert callback == [
        {
            "Fn::If": [
                "HasConsoleUrl",
                {"Ref": "ConsoleUrl"},
                {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/console"},
            ]
        }
    ]
    assert merged["Resources"]["ConsoleClient"]["Properties"]["AllowedOAuthFlows"] == ["code"]
    assert merged["Resources"]["ConsoleClient"]["Properties"]["WriteAttributes"] == ["email"]


def test_console_sign_in_is_found_in_the_stages_user_pool(aws_env, env):
    from chalicelib.http import console

    idp = boto3.client("cognito-idp", region_name="us-east-1")
    pool = idp.create_user_pool(PoolName="dev-kyc-users")["UserPool"]["Id"]
    env.set(KYC_STAGE="dev", KYC_USER_POOL_ID=pool)
    console._discover.cache_clear()
    assert console.sign_in_config() is None  # no domain, no console client yet
    console._discover.cache_clear()
    idp.create_user_pool_domain(Domain="dev-kyc-123456789012", UserPoolId=pool)
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="dev-kyc-console",
        AllowedOAuthFlows=["code"],
        CallbackURLs=["https://x.test/api/console"],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["openid"],
    )["UserPoolClient"]["ClientId"]
    found = console.sign_in_config()
    base = "https://dev-kyc-123456789012.auth.us-east-1.amazoncognito.com"
    assert found == {
        "client_id": client,
        "authorize_url": f"{base}/oauth2/authorize",
        "token_url": f"{base}/oauth2/token",
        "logout_url": f"{base}/logout",
        "scope": "openid email profile",
        "origin": base,
    }
    headers = console.page().headers
    assert f"connect-src 'self' {base}" in headers["Content-Security-Policy"]
    console._discover.cache_clear()


def test_local_stack_pool_has_the_console_client_and_domain(moto_url_stack):
    idp, outputs = moto_url_stack
    clients = {
        c["ClientName"]
        for c in idp.list_user_pool_clients(UserPoolId=outputs["UserPoolId"], MaxResults=60)["UserPoolClients"]
    }
    assert clients == {"local-kyc-app", "local-kyc-console"}
    assert idp.describe_user_pool(UserPoolId=outputs["UserPoolId"])["UserPool"]["Domain"].startswith("local-kyc-")


@pytest.fixture
def moto_url_stack():
    import warnings

    from moto.server import ThreadedMotoServer

    from kyc_service.local.env import embedded_client
    from kyc_service.local.resources import create_local_resources

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outputs = create_local_resources(url, "local")
        yield embedded_client("cognito-idp", url), outputs
    finally:
        server.stop()


def test_backfill_gives_old_records_their_id_number_key(aws):
    """The duplicate check's index key, `tenant#id`, for records saved before it existed."""
    from kyc_service.infra.backfill import backfill_id_number_keys

    ddb = boto3.client("dynamodb")
    template.create_tables(ddb, "local")
    table = "local_kyc_service"
    for email, number in (("a@x.com", "D1234-5678"), ("b@x.com", "d12345678")):
        ddb.put_item(
            TableName=table,
            Item={
                "tenant#email": {"S": f"acme#{email}"},
                "id_type#id": {"S": f"Driving license#{number}"},
                "tenant": {"S": "acme"},
                "id_type": {"S": "Driving license"},
                "id_value": {"S": number},
                "validation_status": {"S": "verified"},
                "last_updated_time": {"N": "1"},
            },
        )
    assert backfill_id_number_keys(ddb, table) == 2
    assert backfill_id_number_keys(ddb, table) == 0  # idempotent
    found = ddb.query(
        TableName=table,
        IndexName="tenant-id-number",
        KeyConditionExpression="#k = :k",
        ExpressionAttributeNames={"#k": "tenant#id"},
        ExpressionAttributeValues={":k": {"S": "acme#Driving license#d12345678"}},
    )["Items"]
    # both spellings of the number meet under one key; the index projects the status
    assert sorted(i["tenant#email"]["S"] for i in found) == ["acme#a@x.com", "acme#b@x.com"]
    assert {i["validation_status"]["S"] for i in found} == {"verified"}
