"""Shared fixtures: in-process moto for AWS, a token issuer with its own key pair,
and the Chalice test client on the `local` stage."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.stage import ROOT

REGION = "us-east-1"
# The app's event handlers the `stage` fixture drives (every one the app declares).
STAGE_HANDLERS = None
ISSUER = "https://issuer.kyc.test/pool-1"
STAGE = "local"
FIXTURES = Path(os.environ.get("KYC_FIXTURES_DIR", ROOT.parent / "shared" / "fixtures"))


def fixtures_dir(sub: str = "") -> Path:
    """The shared fixtures folder, or skip the test with a clear message."""
    path = FIXTURES / sub
    if not path.is_dir():
        pytest.skip(f"shared fixtures not found at {path} (set KYC_FIXTURES_DIR)")
    return path


# -- tiers: `pytest -m unit` (make test-fast), `-m integration`, `-m system`; make test runs all --

TIERS = ("unit", "integration", "system")
# Subprocesses: the local stack, `chalice package`, `python -m kyc_service ...`.
SYSTEM_MODULES = {"test_local_stack.py", "test_deploy.py", "engines/test_cli_adapter.py"}
# The self-hosted engines' models (seconds per test).
INTEGRATION_MODULES = {"engines/test_idread.py", "engines/test_faces.py"}
# In-process AWS (moto), a moto server, the engines.
INTEGRATION_FIXTURES = {
    "aws_env",
    "client",
    "stage",
    "validator",
    "app_client",
    "aws",
    "moto_url",
    "local",
    "engines",
    "face_engine",
    "face_sets",
    "faces_dir",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test's tier is the heaviest thing it touches: its module, else its fixtures; a tier
    marker in the test itself wins."""
    tests = Path(__file__).resolve().parent
    for item in items:
        if any(item.get_closest_marker(tier) for tier in TIERS):
            continue
        module = item.path.resolve().relative_to(tests).as_posix()
        if module in SYSTEM_MODULES:
            tier = "system"
        elif module in INTEGRATION_MODULES or INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            tier = "integration"
        else:
            tier = "unit"
        item.add_marker(tier)


# -- the environment: chalicelib.config parses it once per process; config.reset() is the hook --


@pytest.fixture(autouse=True)
def _settings_follow_the_environment() -> Iterator[None]:
    """Every test starts and ends with freshly parsed settings: what a fixture or monkeypatch's
    undo did to the environment is what the settings hold."""
    from chalicelib import config

    config.reset()
    yield
    config.reset()


class Env:
    """Environment variables for one test (undone after it); settings follow at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.monkeypatch = monkeypatch

    def set(self, **variables: str) -> None:
        from chalicelib import config

        for name, value in variables.items():
            self.monkeypatch.setenv(name, value)
        config.reset()

    def unset(self, *names: str) -> None:
        from chalicelib import config

        for name in names:
            self.monkeypatch.delenv(name, raising=False)
        config.reset()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Env:
    """Change environment variables in a test: `env.set(KYC_PRODUCTION="true")`, `env.unset(...)`."""
    return Env(monkeypatch)


@contextmanager
def environment(**variables: str) -> Iterator[None]:
    """The same for module-scoped fixtures: set while the block runs, restored after it."""
    from chalicelib import config

    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    config.reset()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        config.reset()


class Issuer:
    """Signs RS256 ID tokens shaped like Cognito's, with its own key pair."""

    def __init__(self, kid: str = "test-key"):
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> str:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return json.dumps({"keys": [jwk]})

    def token(
        self,
        tenant: str | None = "acme",
        email: str | None = "user@example.com",
        admin: bool = False,
        expires_in: int = 3600,
        **extra,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{tenant}/{email}")),
            "aud": "client-1",
            "token_use": "id",
            "iat": now,
            "auth_time": now,
            "exp": now + expires_in,
        }
        if tenant is not None:
            claims["custom:tenant"] = tenant
        if email is not None:
            claims["email"] = email
            claims["email_verified"] = True
        if admin:
            claims["cognito:groups"] = ["kyc-admin"]
        claims.update(extra)
        return self.sign(claims)

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture(scope="session")
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture(scope="session")
def other_issuer() -> Issuer:
    return Issuer(kid="test-key")  # same kid, different key: a forged token


def create_stage_tables(stage: str = STAGE) -> None:
    from kyc_service.infra.template import create_tables

    create_tables(boto3.client("dynamodb", region_name="us-east-1"), stage)


@pytest.fixture
def aws_env(env, issuer):
    """In-process moto with the stage's tables, bucket and user pool."""
    from moto import mock_aws

    from chalicelib import aws

    env.set(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        KYC_STAGE=STAGE,
        KYC_TOKEN_ISSUER=ISSUER,
        KYC_JWKS=issuer.jwks(),
    )
    env.unset("KYC_AWS_ENDPOINT")
    aws.reset_clients()  # clients made for another moto
    with mock_aws():
        create_stage_tables()
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=f"{STAGE}-kyc-documents")
        boto3.client("sns", region_name="us-east-1").create_topic(Name=f"{STAGE}-kyc-notifications")
        cognito = boto3.client("cognito-idp", region_name="us-east-1")
        pool = cognito.create_user_pool(
            PoolName="kyc",
            UsernameAttributes=["email"],
            Schema=[{"Name": "tenant", "AttributeDataType": "String", "Mutable": True}],
        )
        env.set(KYC_USER_POOL_ID=pool["UserPool"]["Id"])
        yield
    aws.reset_clients()


@pytest.fixture
def client(aws_env):
    from chalice.test import Client

    from kyc_service.local.gateway import install

    install()
    import app as app_module

    cwd = os.getcwd()
    os.chdir(ROOT)  # the test client reads .chalice/config.json from the current directory
    try:
        with Client(app_module.app, stage_name=STAGE) as c:
            yield c
    finally:
        os.chdir(cwd)


# -- a whole stage on an in-process moto server (pipeline, bundle and local-stack tests) --


@pytest.fixture(scope="module")
def stage():
    """Resources from the one definition on moto server; the app's event handlers driven
    by the local pollers (`stage.manager.drain()`)."""
    from moto.server import ThreadedMotoServer

    from chalicelib import aws
    from chalicelib.stage import resource_names
    from kyc_service.local.events.manager import EventSourceManager, EventSourceOptions
    from kyc_service.local.resources import create_local_resources

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with environment(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        KYC_STAGE="local",
        KYC_AWS_ENDPOINT=endpoint,
        KYC_PROVIDER="fake",
        KYC_VERIFY_CONCURRENCY="4",
    ):
        aws.reset_clients()
        outputs = create_local_resources(endpoint, "local", region=REGION)
        import app as app_module

        # LATEST from prime(): moto's state is one per process, so TRIM_HORIZON would hand this
        # module's pollers every stream record the modules before it wrote
        manager = EventSourceManager(
            app_module,
            EventSourceOptions(
                endpoint=endpoint,
                region=REGION,
                stage="local",
                handlers=STAGE_HANDLERS,
                retry_delay=0,
                poll_interval=0.05,
                failure_queue=resource_names("local").failure_queue,
                starting_position="LATEST",
            ),
        )
        manager.prime()
        from tests.pipeline_support import Stage

        yield Stage(endpoint, outputs, manager)
        server.stop()
    aws.reset_clients()


@pytest.fixture
def provider(monkeypatch):
    """A fake of the provider port used by the verifier (answers per image key)."""
    from tests.pipeline_support import FakeProvider

    fake = FakeProvider()
    monkeypatch.setattr("chalicelib.services.provider", lambda: fake)
    return fake


@pytest.fixture(scope="module")
def validator(stage):
    """A real HTTP licence validator on 127.0.0.1 that the stage's licence check calls."""
    from tests.pipeline_support import Validator

    v = Validator()
    with environment(KYC_LICENSE_VALIDATOR_URL=v.url):
        yield v
    v.server.shutdown()


@pytest.fixture
def stale_reads(monkeypatch):
    """Every RecordStore.get returns the record as it was, then changes it behind the caller's
    back: the next conditional write meets a newer version (a concurrent request)."""
    from chalicelib.storage import records

    real_get = records.RecordStore.get

    def stale_get(self, *args):
        record = real_get(self, *args)
        if record is not None:
            real_get(self, *args).update(actions=[self.tables.kyc.address.set("changed meanwhile")])
        return record

    monkeypatch.setattr(records.RecordStore, "get", stale_get)
