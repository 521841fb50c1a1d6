"""A stage's names and its declared configuration. The one place that knows how the service
names a stage's resources (`{stage}-kyc-documents`, `{stage}-license-queue`, ...) and that reads
`.chalice/config.json`; everything else asks here.

infra/resources.yaml names the same resources for CloudFormation (`!Sub ${Stage}-kyc-documents`);
tests/test_resources.py checks that the two agree. No I/O at import.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APP_NAME = "kyc-service"
# The project: app.py, chalicelib/, .chalice/, infra/ (in Lambda, the task root).
ROOT = Path(__file__).resolve().parent.parent

# The environment variables that name a stage's resources (set in .chalice/config.json for
# deployed stages; left to the rule below by the local stack).
NAME_VARIABLES = {
    "table": "KYC_TABLE_NAME",
    "identity_table": "KYC_IDENTITY_TABLE_NAME",
    "events_table": "KYC_EVENTS_TABLE_NAME",
    "bucket": "KYC_BUCKET",
    "topic": "KYC_TOPIC_NAME",
    "license_queue": "KYC_LICENSE_QUEUE_NAME",
    "license_dlq": "KYC_LICENSE_DLQ_NAME",
    "failure_queue": "KYC_FAILURE_QUEUE_NAME",
    "bundle_failure_queue": "KYC_BUNDLE_FAILURE_QUEUE_NAME",
    "webhook_queue": "KYC_WEBHOOK_QUEUE_NAME",
    "webhook_dlq": "KYC_WEBHOOK_DLQ_NAME",
    "webhook_key_alias": "KYC_WEBHOOK_KEY_ALIAS",
}


@dataclass(frozen=True)
class ResourceNames:
    """Every name of one stage's resources."""

    stage: str
    table: str  # the KYC table, with the stream
    identity_table: str
    events_table: str  # audit trail, idempotency markers, licence overrides
    bucket: str  # document bucket (a deployed stage names its own, globally unique)
    topic: str  # SNS notifications
    license_queue: str
    license_dlq: str
    failure_queue: str  # stream handlers' on-failure destination
    bundle_failure_queue: str  # the bundle intake's dead-letter queue (S3 invokes it asynchronously)
    webhook_queue: str  # every notification, for the tenants' webhooks (subscribed to the topic)
    webhook_dlq: str  # webhook deliveries given up on
    webhook_key_alias: str  # KMS alias of the key that encrypts webhook signing secrets
    user_pool: str
    stack: str  # the CloudFormation stack of the resources

    @property
    def console_client(self) -> str:
        """The user pool's app client of the review console (OAuth sign-in, infra/resources.yaml)."""
        return f"{self.stage}-kyc-console"

    @property
    def app_client(self) -> str:
        """The user pool's app client of tenant apps and the local `token` command."""
        return f"{self.stage}-kyc-app"

    @property
    def function_prefix(self) -> str:
        """Chalice names a stage's Lambda functions `{app}-{stage}-{handler}`."""
        return function_name(APP_NAME, self.stage, "")

    def placeholder_stream_arn(self, region: str = "us-east-1", account: str = "123456789012") -> str:
        """A well-formed ARN of the KYC table's stream, for `chalice package` and the local stack
        (deployments pass the real one in KYC_STREAM_ARN; the local pollers read the table's)."""
        return f"arn:aws:dynamodb:{region}:{account}:table/{self.table}/stream/placeholder"


def resource_names(stage: str, environment: Mapping[str, str] | None = None) -> ResourceNames:
    """The names of `stage`'s resources: the rule, unless `environment` (os.environ, or a stage's
    environment_variables) sets one of NAME_VARIABLES to a non-empty value."""
    rule = {
        "table": f"{stage}_{APP_NAME.replace('-', '_')}",  # the KYC table: the stage, then the app's name
        "identity_table": f"{stage}_identity",
        "events_table": f"{stage}_kyc_events",
        "bucket": f"{stage}-kyc-documents",
        "topic": f"{stage}-kyc-notifications",
        "license_queue": f"{stage}-license-queue",
        "license_dlq": f"{stage}-license-dlq",
        "failure_queue": f"{stage}-kyc-stream-failures",
        "bundle_failure_queue": f"{stage}-kyc-bundle-failures",
        "webhook_queue": f"{stage}-kyc-webhooks",
        "webhook_dlq": f"{stage}-kyc-webhooks-dlq",
        "webhook_key_alias": f"alias/{stage}-kyc-webhooks",
    }
    env = environment or {}
    names = {field: env.get(variable) or rule[field] for field, variable in NAME_VARIABLES.items()}
    return ResourceNames(stage=stage, user_pool=f"{stage}-kyc-users", stack=f"{APP_NAME}-{stage}-resources", **names)


def function_name(app_name: str, stage: str, handler: str) -> str:
    """A Chalice-deployed function's name (Lambda's event source mappings and logs use it)."""
    return f"{app_name}-{stage}-{handler}"


# -- .chalice/config.json ----------------------------------------------------------------


def chalice_config(root: Path = ROOT) -> dict[str, Any]:
    """The project's Chalice config: its stages and their environment variables."""
    config: dict[str, Any] = json.loads((root / ".chalice" / "config.json").read_text())
    return config


def stage_environment(stage: str, root: Path = ROOT) -> dict[str, str]:
    """The environment variables `.chalice/config.json` declares for `stage`."""
    return dict(chalice_config(root)["stages"][stage].get("environment_variables", {}))
