"""Per-function roles (issue 17): each Lambda function's policy is derived from the AWS calls its
code makes (kyc_service/infra/calls.py), so a call added later reaches exactly the functions that
can run it. The packaged templates' roles are checked against this in tests/test_deploy.py."""

from __future__ import annotations

import ast

import pytest

from kyc_service.infra import calls, roles

LOGS_AND_TRACING = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _actions(policy: dict) -> set[str]:
    return {a for st in policy["Statement"] for a in st["Action"]}


def test_every_client_is_seen_by_the_call_reader():
    """A client passed on under another name would hide its calls from the roles."""
    assert calls.unattributed_clients() == []


def test_the_functions_are_those_of_app_py():
    assert set(calls.lambda_functions()) == {
        "api_handler",
        "jwt_auth",
        "verify_records",
        "update_identity",
        "notify_decisions",
        "intake_bundle",
        "check_license",
        "license_check_failed",
        "deliver_webhooks",
    }


def test_the_authorizer_gets_nothing_but_its_logs_and_tracing():
    policy = roles.function_policy("prod", "jwt_auth")
    assert _actions(policy) == LOGS_AND_TRACING
    (logs,) = [st for st in policy["Statement"] if st["Sid"] == "Logs"]
    assert logs["Resource"] == [
        "arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/kyc-service-prod-jwt_auth:*"
    ]


@pytest.mark.parametrize(
    ("function", "has", "lacks"),
    [
        # the routes: records, presigned uploads (signed with this role), erasure (face data too),
        # webhook secrets, liveness sessions
        (
            "api_handler",
            {
                "dynamodb:DeleteItem",
                "s3:PutObject",
                "s3:DeleteObjectVersion",
                "kms:Encrypt",
                "sns:Publish",
                "rekognition:DeleteFaces",
                "rekognition:CreateFaceLivenessSession",
            },
            {"kms:Decrypt", "sqs:SendMessage", "rekognition:CompareFaces", "ssm:GetParameter", "dynamodb:GetRecords"},
        ),
        (
            "verify_records",
            # (Rekognition and Textract read the images from S3 with the caller's permissions; the
            # face index: its entries and collection faces; the ID portrait's crop is written)
            {
                "rekognition:CompareFaces",
                "rekognition:SearchFacesByImage",
                "rekognition:IndexFaces",
                "rekognition:GetFaceLivenessSessionResults",
                "textract:AnalyzeID",
                "s3:GetObject",
                "s3:PutObject",
                "dynamodb:DeleteItem",
                "sqs:SendMessage",
                "dynamodb:GetRecords",
            },
            {"s3:DeleteObject", "sns:Publish", "kms:Encrypt", "rekognition:CreateFaceLivenessSession"},
        ),
        ("notify_decisions", {"sns:Publish", "dynamodb:GetRecords"}, {"s3:GetObject", "rekognition:CompareFaces"}),
        ("update_identity", {"dynamodb:UpdateItem"}, {"sns:Publish", "s3:GetObject", "dynamodb:DeleteItem"}),
        ("check_license", {"ssm:GetParameter", "sqs:ReceiveMessage"}, {"sns:Publish", "s3:GetObject", "kms:Decrypt"}),
        ("license_check_failed", {"sqs:ReceiveMessage"}, {"ssm:GetParameter", "sqs:SendMessage"}),
        ("deliver_webhooks", {"kms:Decrypt", "sqs:SendMessage"}, {"kms:Encrypt", "dynamodb:PutItem", "sns:Publish"}),
        # (its one queue: the dead-letter queue Lambda sends failed S3 events to)
        ("intake_bundle", {"s3:GetObject", "s3:PutObject", "sqs:SendMessage"}, {"sns:Publish", "kms:Decrypt"}),
    ],
)
def test_each_function_gets_what_its_code_calls_and_no_more(function, has, lacks):
    actions = _actions(roles.function_policy("dev", function))
    assert has <= actions
    assert not lacks & actions


def test_queues_are_those_the_function_uses():
    def queues(function: str) -> set[str]:
        return {st["Sid"] for st in roles.function_policy("dev", function)["Statement"] if "sqs:" in st["Action"][0]}

    assert queues("verify_records") == {"LicenseQueue", "StreamFailureQueue"}  # licence checks; stream failures
    assert queues("deliver_webhooks") == {"WebhookQueue", "WebhookDlq"}
    assert queues("check_license") == {"LicenseQueue"}
    assert queues("api_handler") == set()


def test_query_reaches_the_indexes():
    (tables,) = [st for st in roles.function_policy("dev", "api_handler")["Statement"] if st["Sid"] == "KycTables"]
    assert "arn:aws:dynamodb:${AWS::Region}:${AWS::AccountId}:table/dev_kyc_service/index/*" in tables["Resource"]


@pytest.fixture
def patched_source(monkeypatch):
    """Add source to a chalicelib module, as a later feature would."""

    def patch(module: str, source: str) -> None:
        mods = dict(calls.modules())
        old = mods[module]
        path = calls.ROOT / (module.replace(".", "/") + ".py")
        tree = ast.parse(path.read_text() + "\n" + source)
        new = calls._module(module, path, False)
        new.tree = tree
        new.defs = calls._module(module, path, False).defs | {
            n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)
        }
        new.imports = old.imports | new.imports
        mods[module] = new
        monkeypatch.setattr(calls, "modules", lambda: mods)
        calls.function_reach.cache_clear()

    yield patch
    calls.function_reach.cache_clear()


def test_a_call_added_later_reaches_exactly_the_functions_that_run_it(patched_source):
    """Issue 16's kind of change: a new Rekognition call in the verifier's path, one in erasure's."""
    patched_source(
        "chalicelib.handlers.verifier",
        "def handle_batch(event):\n"
        "    from chalicelib.aws import client\n"
        "    client('rekognition').index_faces(CollectionId='c', Image={})\n"
        "    rekognition = client('rekognition')\n"
        "    return rekognition.search_faces_by_image(CollectionId='c', Image={})\n",
    )
    verifier = _actions(roles.function_policy("dev", "verify_records"))
    assert {"rekognition:IndexFaces", "rekognition:SearchFacesByImage"} <= verifier
    for other in ("api_handler", "jwt_auth", "notify_decisions", "check_license"):
        assert "rekognition:IndexFaces" not in _actions(roles.function_policy("dev", other))


def test_a_client_handed_on_under_another_name_is_reported(patched_source):
    patched_source(
        "chalicelib.http.api",
        "def later(helper):\n    from chalicelib.aws import client\n    return helper(client('rekognition'))\n",
    )
    assert [c for c in calls.unattributed_clients() if c.startswith("chalicelib.http.api:")]
