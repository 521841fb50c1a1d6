"""The environment a local stage runs with: the stage's variables from
.chalice/config.json, pointed at the embedded AWS."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


def project_root() -> Path:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return ROOT


def chalice_config() -> dict:
    return json.loads((ROOT / ".chalice" / "config.json").read_text())


NAME_KEYS = ("KYC_TABLE_NAME", "KYC_IDENTITY_TABLE_NAME", "KYC_EVENTS_TABLE_NAME", "KYC_BUCKET",
             "KYC_TOPIC_NAME", "KYC_LICENSE_QUEUE_NAME", "KYC_LICENSE_DLQ_NAME", "KYC_FAILURE_QUEUE_NAME")


def stage_environment(stage: str) -> dict[str, str]:
    """The `local` stage's settings from .chalice/config.json, for any stage name run locally.

    Resource names are left to chalicelib.config, which derives them from the stage
    exactly as the resource definition names them.
    """
    env = dict(chalice_config()["stages"]["local"].get("environment_variables", {}))
    for key in NAME_KEYS:
        env.pop(key, None)
    return env


def endpoint(aws_port: int) -> str:
    return f"http://127.0.0.1:{aws_port}"


def apply(stage: str, aws_port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Set os.environ for a local stage (fake credentials: moto accepts any)."""
    env = stage_environment(stage)
    env.update({"KYC_STAGE": stage, "KYC_AWS_ENDPOINT": endpoint(aws_port),
                "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
                "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"})
    env.update(extra or {})
    os.environ.update(env)
    from chalicelib import aws
    aws.reset_clients()
    return env


def user_pool(stage: str, aws_port: int) -> tuple[str, str]:
    """(pool id, app client id) of the stage's user pool in the embedded AWS."""
    import boto3

    idp = boto3.client("cognito-idp", endpoint_url=endpoint(aws_port), region_name=REGION,
                       aws_access_key_id="local", aws_secret_access_key="local")
    name = f"{stage}-kyc-users"
    for pool in idp.list_user_pools(MaxResults=60)["UserPools"]:
        if pool["Name"] == name:
            clients = idp.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=10)["UserPoolClients"]
            if clients:
                return pool["Id"], clients[0]["ClientId"]
    raise LookupError(f"no user pool {name!r} at {endpoint(aws_port)}: is the local stack running?")


def token_settings(stage: str, aws_port: int) -> dict[str, str]:
    """How the API verifies tokens of the embedded Cognito pool (moto signs them like Cognito)."""
    pool_id, client_id = user_pool(stage, aws_port)
    return {"KYC_USER_POOL_ID": pool_id, "KYC_TOKEN_AUDIENCE": client_id,
            "KYC_TOKEN_ISSUER": f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}",
            "KYC_JWKS_URL": f"{endpoint(aws_port)}/{pool_id}/.well-known/jwks.json"}
