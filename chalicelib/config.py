"""Stage configuration, parsed from environment variables once per process (a Lambda cold start).

Every value a stage can change lives in `.chalice/config.json` as an environment variable;
tests and the local stack set the same variables. Resource names follow chalicelib/stage.py
unless a variable names them. Whoever changes the environment afterwards (tests, the local
stack) calls `reset()`: the next `settings()` parses it again.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from chalicelib.stage import resource_names

ID_TYPES = ("Driving license", "Passport", "ID card")
ADMIN_GROUP = "kyc-admin"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _float(name: str, default: float) -> float:
    value = _env(name)
    return float(value) if value is not None else default


def _int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def _list(name: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in (_env(name) or "").split(",") if v.strip())


def _bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_name: str
    identity_table_name: str
    events_table_name: str
    bucket: str
    topic_name: str
    license_queue_name: str
    license_dlq_name: str
    failure_queue_name: str
    verify_threshold: float
    review_threshold: float
    clear_confidence: float  # a document reading at or above it is clear enough to reject on
    provider: str  # "aws", "selfhosted" or "none"
    verify_concurrency: int
    token_issuer: str | None
    jwks_url: str | None
    jwks: str | None  # inline JWKS document (tests, offline setups); wins over jwks_url
    token_audience: tuple[str, ...]  # accepted `aud` values (the stage's app clients); required when deployed
    user_pool_id: str | None
    aws_endpoint: str | None  # set only by the local stack and tests
    max_body_bytes: int
    max_upload_bytes: int
    upload_url_ttl: int
    license_validator_url: str | None
    license_validator_timeout: float
    license_validator_token: str | None  # the local stack only: deployed stages use the parameter below
    license_validator_token_parameter: str | None  # SSM SecureString name of the validator's token
    license_check_required: bool
    production: bool
    tenant_quota: int  # authenticated requests per tenant and window; 0: no quota (the local stack)
    tenant_quota_window: int  # s
    stream_arn: str  # the KYC table's stream (deployments set it; a placeholder otherwise)
    integrations: IntegrationSettings  # tenant integrations (issue 15): tenant rules, webhooks, idempotency

    @property
    def is_local(self) -> bool:
        return self.aws_endpoint is not None

    @property
    def deployed(self) -> bool:
        """A stage on AWS (dev, beta, prod, ...): not the local stack, not a test of it.
        Deployed stages get the secure defaults (token audience, https validator, ...)."""
        return self.stage != "local" and not self.is_local


def _parse() -> Settings:
    stage = _env("KYC_STAGE", "local") or "local"
    issuer = _env("KYC_TOKEN_ISSUER")
    names = resource_names(stage, os.environ)
    return Settings(
        stage=stage,
        region=_env("AWS_REGION", _env("AWS_DEFAULT_REGION", "us-east-1")) or "us-east-1",
        table_name=names.table,
        identity_table_name=names.identity_table,
        events_table_name=names.events_table,
        bucket=names.bucket,
        topic_name=names.topic,
        license_queue_name=names.license_queue,
        license_dlq_name=names.license_dlq,
        failure_queue_name=names.failure_queue,
        verify_threshold=_float("KYC_VERIFY_THRESHOLD", 95.0),
        review_threshold=_float("KYC_REVIEW_THRESHOLD", 80.0),
        clear_confidence=_float("KYC_CLEAR_CONFIDENCE", 85.0),
        provider=_env("KYC_PROVIDER", "aws") or "aws",
        verify_concurrency=_int("KYC_VERIFY_CONCURRENCY", 10),
        token_issuer=issuer,
        jwks_url=_env("KYC_JWKS_URL", f"{issuer}/.well-known/jwks.json" if issuer else None),
        jwks=_env("KYC_JWKS"),
        token_audience=_list("KYC_TOKEN_AUDIENCE"),
        user_pool_id=_env("KYC_USER_POOL_ID"),
        aws_endpoint=_env("KYC_AWS_ENDPOINT"),
        max_body_bytes=_int("KYC_MAX_BODY_BYTES", 64 * 1024),
        max_upload_bytes=_int("KYC_MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
        upload_url_ttl=_int("KYC_UPLOAD_URL_TTL", 900),
        license_validator_url=_env("KYC_LICENSE_VALIDATOR_URL"),
        license_validator_timeout=_float("KYC_LICENSE_VALIDATOR_TIMEOUT", 10.0),
        license_validator_token=_env("KYC_LICENSE_VALIDATOR_TOKEN"),
        license_validator_token_parameter=_env("KYC_LICENSE_VALIDATOR_TOKEN_PARAMETER"),
        license_check_required=_bool("KYC_LICENSE_CHECK_REQUIRED", False),
        production=_bool("KYC_PRODUCTION", stage == "prod"),
        tenant_quota=max(_int("KYC_TENANT_QUOTA", 0), 0),
        tenant_quota_window=max(_int("KYC_TENANT_QUOTA_WINDOW_S", 60), 1),
        stream_arn=_env("KYC_STREAM_ARN") or names.placeholder_stream_arn(),
        integrations=_parse_integrations(
            names.webhook_queue, names.webhook_dlq, names.webhook_key_alias, _bool("KYC_PRODUCTION", stage == "prod")
        ),
    )


@dataclass(frozen=True)
class IntegrationSettings:
    """Tenant integrations (docs/integrations.md): the defaults and safe bounds of a tenant's
    rules, the webhook delivery (queues, key, retry schedule, timeout) and idempotency keys."""

    # tenant rules: the stage's defaults (the thresholds themselves are Settings.verify/review_threshold)
    require_liveness: bool
    require_license_check: bool  # every driving licence waits for the licence check (bundles: see licence.py)
    duplicate_check: bool
    liveness_min_confidence: float  # 0-100: a Face Liveness session must reach it (KYC_LIVENESS_MIN_CONFIDENCE)
    max_attempts: int | None  # rejected submissions before a final rejection; None: no limit
    accepted_id_types: tuple[str, ...]
    verify_threshold_bounds: tuple[float, float]  # what a tenant may set (inclusive)
    review_threshold_bounds: tuple[float, float]
    # webhooks
    webhook_queue_name: str
    webhook_dlq_name: str
    webhook_key_alias: str  # the KMS key that encrypts signing secrets
    webhook_timeout: float  # s, connect and read, per delivery
    retry_first_delay: float  # s after the first failed attempt
    retry_factor: float
    retry_max_delay: float
    retry_window: float  # s: retries go on until at least this long after the first attempt
    retry_jitter: float  # +- fraction of each delay
    rotation_grace: int  # s the previous secret keeps signing after a rotation
    allow_loopback_http: bool  # the local stage: http://127.0.0.1:<port>/ is accepted (never in production)
    # idempotency keys on create_or_update
    idempotency_ttl: int


def _bounds(name: str, default: tuple[float, float]) -> tuple[float, float]:
    low, high = _float(f"{name}_MIN", default[0]), _float(f"{name}_MAX", default[1])
    return (low, high) if low <= high else (high, low)


def _parse_integrations(queue: str, dlq: str, key_alias: str, production: bool) -> IntegrationSettings:
    types = tuple(t.strip() for t in (_env("KYC_ACCEPTED_ID_TYPES") or "").split(",") if t.strip() in ID_TYPES)
    max_attempts = _int("KYC_MAX_ATTEMPTS", 0)
    return IntegrationSettings(
        require_liveness=_bool("KYC_REQUIRE_LIVENESS", False),
        require_license_check=_bool("KYC_REQUIRE_LICENSE_CHECK", False),
        duplicate_check=_bool("KYC_DUPLICATE_CHECK", False),
        liveness_min_confidence=min(max(_float("KYC_LIVENESS_MIN_CONFIDENCE", 90.0), 50.0), 100.0),
        max_attempts=max_attempts if max_attempts > 0 else None,
        accepted_id_types=types or ID_TYPES,
        verify_threshold_bounds=_bounds("KYC_VERIFY_THRESHOLD", (90.0, 99.9)),
        review_threshold_bounds=_bounds("KYC_REVIEW_THRESHOLD", (50.0, 99.9)),
        webhook_queue_name=queue,
        webhook_dlq_name=dlq,
        webhook_key_alias=key_alias,
        webhook_timeout=min(max(_float("KYC_WEBHOOK_TIMEOUT", 5.0), 0.1), 15.0),
        retry_first_delay=max(_float("KYC_WEBHOOK_RETRY_FIRST_S", 5.0), 0.0),
        retry_factor=max(_float("KYC_WEBHOOK_RETRY_FACTOR", 3.0), 1.0),
        retry_max_delay=max(_float("KYC_WEBHOOK_RETRY_MAX_S", 4 * 3600.0), 0.0),
        retry_window=max(_float("KYC_WEBHOOK_RETRY_WINDOW_S", 24 * 3600.0), 0.0),
        retry_jitter=min(max(_float("KYC_WEBHOOK_RETRY_JITTER", 0.2), 0.0), 0.5),
        rotation_grace=_int("KYC_WEBHOOK_ROTATION_GRACE_S", 24 * 3600),
        allow_loopback_http=_bool("KYC_WEBHOOK_ALLOW_LOOPBACK", False) and not production,
        idempotency_ttl=_int("KYC_IDEMPOTENCY_TTL_S", 24 * 3600),
    )


_lock = threading.Lock()
_current: Settings | None = None  # this process's settings, once parsed


def settings() -> Settings:
    """The stage's settings, parsed on first use and kept until `reset()`."""
    global _current
    current = _current
    if current is None:
        with _lock:
            if _current is None:
                _current = _parse()
            current = _current
    return current


def reset() -> None:
    """Forget the parsed settings: the next `settings()` reads the environment again. The one
    hook for whoever changes the environment of a running process: tests (the `env` fixture,
    and after every test) and the local stack. Caches built from settings (AWS clients, table
    bindings) are keyed by the values they use, so they need no reset."""
    global _current
    with _lock:
        _current = None
