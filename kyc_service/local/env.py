"""The environment a local stage runs with (the `local` stage's variables from .chalice/config.json,
pointed at the embedded AWS), and the one way to build a boto3 client for the embedded AWS."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from chalicelib.stage import NAME_VARIABLES, ROOT, resource_names, stage_environment

REGION = "us-east-1"
# moto accepts any credentials: clients of the embedded AWS never carry a developer's real ones.
FAKE_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


def project_root() -> Path:
    """The project folder, importable (`import app`)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return ROOT


def endpoint(aws_port: int) -> str:
    return f"http://127.0.0.1:{aws_port}"


def embedded_client(service: str, endpoint_url: str, region: str = REGION, config: Any = None) -> Any:
    """A boto3 client of the embedded AWS at `endpoint_url`, with fake credentials."""
    import boto3

    return boto3.session.Session().client(
        service, endpoint_url=endpoint_url, region_name=region, config=config, **FAKE_CREDENTIALS
    )


def local_environment() -> dict[str, str]:
    """The `local` stage's variables from .chalice/config.json, for any stage name run locally.

    Resource names are left out: chalicelib.stage derives them from the stage exactly as the
    resource definition names them.
    """
    env = stage_environment("local")
    for variable in NAME_VARIABLES.values():
        env.pop(variable, None)
    return env


def apply(stage: str, aws_port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Set os.environ for a local stage (fake credentials: moto accepts any), then
    chalicelib.config.reset() so the next settings() sees it."""
    from chalicelib import config

    env = local_environment()
    env.update(
        {
            "KYC_STAGE": stage,
            "KYC_AWS_ENDPOINT": endpoint(aws_port),
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", FAKE_CREDENTIALS["aws_access_key_id"]),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", FAKE_CREDENTIALS["aws_secret_access_key"]),
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }
    )
    env.update(extra or {})
    os.environ.update(env)
    config.reset()
    return env


def user_pool(stage: str, aws_port: int) -> tuple[str, str]:
    """(pool id, app client id) of the stage's user pool in the embedded AWS."""
    idp = embedded_client("cognito-idp", endpoint(aws_port))
    names = resource_names(stage)
    for pool in idp.list_user_pools(MaxResults=60)["UserPools"]:
        if pool["Name"] == names.user_pool:
            clients = idp.list_user_pool_clients(UserPoolId=pool["Id"], MaxResults=60)["UserPoolClients"]
            # the tenant apps' client (the pool also has the review console's OAuth client)
            ours = [c for c in clients if c.get("ClientName") == names.app_client] or clients
            if ours:
                return pool["Id"], ours[0]["ClientId"]
    raise LookupError(f"no user pool {names.user_pool!r} at {endpoint(aws_port)}: is the local stack running?")


def token_settings(stage: str, aws_port: int) -> dict[str, str]:
    """How the API verifies tokens of the embedded Cognito pool (moto signs them like Cognito)."""
    pool_id, client_id = user_pool(stage, aws_port)
    return {
        "KYC_USER_POOL_ID": pool_id,
        "KYC_TOKEN_AUDIENCE": client_id,
        "KYC_TOKEN_ISSUER": f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}",
        "KYC_JWKS_URL": f"{endpoint(aws_port)}/{pool_id}/.well-known/jwks.json",
    }
