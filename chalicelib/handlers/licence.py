"""The third-party licence check of bundle records (CONTRACT.md §3).

Flow: the verifier, after the automatic checks of a record with source "bundle" and id_type
"Driving license" (or of any driving licence when the tenant's rules require the check),
puts `{"driver_license_id", "validation_override", "uuid"}` (plus the
record's key and submission id) on `{stage}-license-queue`, then writes its result with
`checks.license_validation = {"status": "pending"}`:
- KYC_LICENSE_CHECK_REQUIRED=true, or the tenant's require_license_check: the decision waits
  (validation_status "pending", verify false, no decision_id); `check_license` writes the
  final decision.
- otherwise the automatic decision is written at once; the licence answer is added to
  the checks later and a failed licence turns the decision into "rejected".
`check_license` posts to the validator (timeout from the stage config, bearer token when
set); a 5xx, 429, timeout or unreadable answer fails that message, the queue retries it,
and after 5 receives it lands in `{stage}-license-dlq`, where `license_check_failed`
marks the record needs_review: "the licence check could not be completed".
Every write is conditional on the submission id (and the record version), so redelivery
and stale messages change nothing.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.config import Settings, settings
from chalicelib.handlers.batch import process_batch
from chalicelib.keys import record_pk, record_sk
from chalicelib.logs import logger, ref
from chalicelib.storage.events import recall_override
from chalicelib.storage.models import KycRecordBase, condition_failed, plain, set_status

PENDING = "pending"
FAILED_REASON = "the driving licence was not confirmed by the licence validator"
UNAVAILABLE_REASON = "the licence check could not be completed"
SEVERITY = {"verified": 0, "needs_review": 1, "rejected": 2}
MAX_TIMEOUT = 60.0  # far below the queue's visibility timeout (300 s)
MAX_ANSWER_BYTES = 16 * 1024


class ValidatorUnavailable(Exception):
    """Retry later: 5xx, 429, timeout, connection error or an unreadable answer."""


class CheckImpossible(Exception):
    """Retrying cannot help (no validator configured, 4xx): the check could not be completed."""


# -- which records ---------------------------------------------------------------------


def applies(record: KycRecordBase, required: bool = False) -> bool:
    """Bundle records' driving licences are always checked; any other driving licence when the
    tenant's rules require the check (`require_license_check`, settings)."""
    return record.id_type == "Driving license" and (getattr(record, "source", None) == "bundle" or required)


# -- the verifier's side -----------------------------------------------------------------


def hold(decision: Any, required: bool | None = None) -> tuple[Any, bool]:
    """The automatic decision with the licence check pending; (decision, final). The decision
    waits when `required` (the tenant's require_license_check) or the stage's
    KYC_LICENSE_CHECK_REQUIRED says so."""
    required = bool(required) or settings().license_check_required
    pending: dict[str, Any] = {"status": PENDING, "decision_waits": required}
    if required:
        pending["automatic_status"] = decision.status
    decision.checks = {**decision.checks, "license_validation": pending}
    return decision, not required


def message_for(record: KycRecordBase, production: bool) -> dict[str, Any]:
    """The queue message: the seeds' fields, plus the record's key and submission id."""
    return {
        "driver_license_id": record.id_value,
        "validation_override": None if production else recall_override(record.tenant, record.app_uuid),
        "uuid": record.app_uuid or record.submission_id,
        "tenant": record.tenant,
        "email": record.email,
        "id_type": record.id_type,
        "submission_id": record.submission_id,
    }


def enqueue(record: KycRecordBase) -> None:
    from chalicelib.aws import client, queue_url

    client("sqs").send_message(
        QueueUrl=queue_url(settings().license_queue_name),
        MessageBody=json.dumps(message_for(record, settings().production)),
    )
    logger().info("licence check queued", extra={"record": ref(record.pk, record.sk)})


# -- the validator -----------------------------------------------------------------------


@dataclass(frozen=True)
class Validator:
    """Where and how the stage's licence validator is called."""

    url: str | None
    token: str | None  # the local stack / tests only: KYC_LICENSE_VALIDATOR_TOKEN
    timeout: float
    production: bool  # production stages never send validation_override
    token_parameter: str | None = None  # SSM SecureString holding the token (deployed stages)
    require_https: bool = False  # deployed stages: the token never travels in clear

    @classmethod
    def of(cls, s: Settings) -> Validator:
        return cls(
            url=s.license_validator_url,
            # a deployed stage reads its token only from Parameter Store, never from its environment
            token=None if s.deployed else s.license_validator_token,
            timeout=s.license_validator_timeout,
            production=s.production,
            token_parameter=s.license_validator_token_parameter,
            require_https=s.deployed,
        )

    def bearer(self) -> str | None:
        if self.token_parameter:
            return _parameter(self.token_parameter)
        return self.token


_tokens: dict[str, str] = {}  # SSM parameter name -> its value: read at first use, kept until a cold start
_tokens_lock = threading.Lock()


def _parameter(name: str) -> str:
    """The decrypted SecureString `name`, read once per process (forget_token drops it)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.aws import client

    with _tokens_lock:
        if name not in _tokens:
            try:
                answer = client("ssm").get_parameter(Name=name, WithDecryption=True)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
                    raise CheckImpossible("the validator token parameter does not exist") from None
                raise ValidatorUnavailable("the validator token could not be read") from None
            except BotoCoreError:
                raise ValidatorUnavailable("the validator token could not be read") from None
            _tokens[name] = answer["Parameter"]["Value"]
        return _tokens[name]


def forget_token() -> None:
    """Read the token again at next use (after the validator refused it: it may have been rotated)."""
    with _tokens_lock:
        _tokens.clear()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer, not a place to go: the bearer token is never sent anywhere else."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def call_validator(message: dict[str, Any], validator: Validator) -> dict[str, Any]:
    """POST the check; the validator's answer ({"valid": bool, ...})."""
    if not validator.url:
        raise CheckImpossible("no licence validator configured")
    if urllib.parse.urlsplit(validator.url).scheme != "https" and (
        validator.require_https or urllib.parse.urlsplit(validator.url).scheme != "http"
    ):
        raise CheckImpossible("the licence validator URL must be https")
    payload = {"driver_license_id": message["driver_license_id"], "uuid": message.get("uuid")}
    if not validator.production:
        payload["validation_override"] = message.get("validation_override")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    token = validator.bearer()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 (configured)
        validator.url,
        data=json.dumps(payload).encode(),
        headers=headers,
        method="POST",
    )
    timeout = min(max(validator.timeout, 0.1), MAX_TIMEOUT)
    try:
        with _opener.open(request, timeout=timeout) as response:
            raw = response.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code in (408, 429):
            raise ValidatorUnavailable(f"validator answered {exc.code}") from None
        if 300 <= exc.code < 400:
            raise CheckImpossible(f"validator redirected ({exc.code}); redirects are not followed") from None
        if exc.code in (401, 403):
            forget_token()
        raise CheckImpossible(f"validator refused the request ({exc.code})") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise ValidatorUnavailable(f"validator not reachable ({type(exc).__name__})") from None
    try:
        answer = json.loads(raw.decode("utf-8")) if len(raw) <= MAX_ANSWER_BYTES else None
    except (UnicodeDecodeError, ValueError):
        answer = None
    if not isinstance(answer, dict) or not isinstance(answer.get("valid"), bool):
        raise ValidatorUnavailable('validator answer is not {"valid": true|false}')
    kept = {"valid": answer["valid"]}
    for name in ("reason", "message", "status"):
        if isinstance(answer.get(name), str):
            kept[name] = answer[name][:200]
    return kept


# -- writing the result ------------------------------------------------------------------


def _worst(a: str, b: str) -> str:
    return a if SEVERITY.get(a, 1) >= SEVERITY.get(b, 1) else b


def _load(message: dict[str, Any]) -> KycRecordBase | None:
    from chalicelib.storage.models import tables

    try:
        return tables().kyc.get(
            record_pk(message["tenant"], message["email"]),
            record_sk(message["id_type"], message["driver_license_id"]),
            consistent_read=True,
        )
    except DoesNotExist:
        return None


def apply_result(
    message: dict[str, Any], outcome: str, check: dict[str, Any], reason: str | None, attempts: int = 3
) -> str:
    """Store the licence result on the record it was asked for. Returns what happened."""
    for _ in range(attempts):
        record = _load(message)
        if record is None:
            return "no_record"
        if record.submission_id != message.get("submission_id"):
            return "stale"
        if record.verify is True:
            raise ValidatorUnavailable("the automatic checks have not been written yet")
        checks = plain(record.checks)
        current = checks.get("license_validation") or {}
        if current.get("status") != PENDING:
            return "already_done"
        checks["license_validation"] = check
        kyc, now = type(record), int(time.time())
        actions: list[Action] = [kyc.checks.set(checks), kyc.last_updated_time.set(now)]
        status = record.validation_status
        if not (record.decided_by or "").startswith("admin:"):
            # (an admin's manual decision stands: the answer is only kept with the checks)
            waits = bool(current.get("decision_waits"))
            before = current.get("automatic_status", "needs_review") if waits else record.validation_status
            status = _worst(before, outcome)
            reasons = list(record.reasons or [])
            if reason and reason not in reasons:
                reasons.append(reason)
            actions.append(kyc.reasons.set(reasons))
            if waits or status != record.validation_status:  # a (new) decision
                actions += set_status(kyc, record.tenant, status) + [
                    kyc.decided_by.set("system"),
                    kyc.decided_time.set(now),
                    kyc.decision_id.set(uuid.uuid4().hex),
                ]
        try:
            record.update(
                actions=actions,
                condition=(kyc.submission_id == message["submission_id"]) & (kyc.verify == False),  # noqa: E712
            )
        except (UpdateError, PutError) as exc:
            if condition_failed(exc):
                continue  # changed meanwhile: read again
            raise
        logger().info(
            "licence check stored",
            extra={"record": ref(record.pk, record.sk), "licence": check.get("status"), "status": status},
        )
        return "written"
    raise ValidatorUnavailable("the record kept changing; retry")


def _message(record: dict[str, Any]) -> dict[str, Any] | None:
    try:
        body = json.loads(record.get("body") or "")
    except ValueError:
        return None
    needed = ("driver_license_id", "tenant", "email", "id_type", "submission_id")
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in needed):
        return None
    return body


def check_one(record: dict[str, Any]) -> str:
    message = _message(record)
    if message is None:  # nothing to retry: log and drop
        logger().error("licence message unreadable", extra={"message_id": record.get("messageId")})
        return "unreadable"
    current = _load(message)
    if current is None or current.submission_id != message["submission_id"]:
        return "stale"
    if (plain(current.checks).get("license_validation") or {}).get("status") not in (PENDING, None):
        return "already_done"
    now = int(time.time())
    try:
        answer = call_validator(message, Validator.of(settings()))
    except CheckImpossible as exc:
        logger().error("licence check impossible", extra={"record": ref(current.pk, current.sk), "error": str(exc)})
        return apply_result(
            message,
            "needs_review",
            {"passed": None, "status": "error", "checked_at": now, "error": UNAVAILABLE_REASON},
            UNAVAILABLE_REASON,
        )
    passed = answer["valid"]
    check = {"passed": passed, "status": "passed" if passed else "failed", "checked_at": now, "answer": answer}
    return apply_result(message, "verified" if passed else "rejected", check, None if passed else FAILED_REASON)


def give_up(record: dict[str, Any]) -> str:
    """A message from the dead-letter queue: the check could not be completed."""
    message = _message(record)
    if message is None:
        logger().error("licence message unreadable", extra={"message_id": record.get("messageId")})
        return "unreadable"
    check = {"passed": None, "status": "error", "checked_at": int(time.time()), "error": UNAVAILABLE_REASON}
    return apply_result(message, "needs_review", check, UNAVAILABLE_REASON)


MESSAGE_CONCURRENCY = 5  # a batch's messages checked at once (the queue's batch size)


def handle_batch(event: Any) -> dict[str, Any]:
    """check_license: a failed message is reported; the queue retries it, then dead-letters it."""
    return process_batch(
        event, check_one, concurrency=MESSAGE_CONCURRENCY, name="check_license", event_type=EventType.SQS
    )


def handle_dead_letters(event: Any) -> dict[str, Any]:
    return process_batch(
        event, give_up, concurrency=MESSAGE_CONCURRENCY, name="license_check_failed", event_type=EventType.SQS
    )
