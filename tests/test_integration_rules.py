"""Tenant integrations, the pure parts: a tenant's rules within the stage's bounds, the webhook
retry schedule, the URL rules (SSRF, DNS rebinding) and Standard Webhooks signatures."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import pytest

from chalicelib.config import ID_TYPES
from chalicelib.domain.retries import RetrySchedule, sqs_delay
from chalicelib.domain.tenant_rules import SETTING_NAMES, StagePolicy, TenantRules, attempts_check, parse_overrides
from chalicelib.outbound.urls import UrlRefused, check_url, is_public

POLICY = StagePolicy(
    verify_threshold=95.0,
    review_threshold=80.0,
    clear_confidence=85.0,
    require_liveness=False,
    require_license_check=False,
    duplicate_check=False,
    max_attempts=None,
    accepted_id_types=ID_TYPES,
    id_types=ID_TYPES,
    verify_bounds=(90.0, 99.9),
    review_bounds=(50.0, 99.9),
)


# -- a tenant's rules --------------------------------------------------------------------------


def test_unset_settings_follow_the_stage():
    rules = TenantRules.of(POLICY, {})
    assert rules.values == {
        "verify_threshold": 95.0,
        "review_threshold": 80.0,
        "require_liveness": False,
        "require_license_check": False,
        "duplicate_check": False,
        "max_attempts": None,
        "accepted_id_types": list(ID_TYPES),
    }
    assert rules.defaults == list(SETTING_NAMES)
    assert (rules.rules.verify_threshold, rules.rules.review_threshold, rules.rules.clear_confidence) == (
        95.0,
        80.0,
        85.0,
    )


def test_tenant_values_win_and_are_recorded():
    overrides, problems = parse_overrides(
        {
            "verify_threshold": 90,
            "max_attempts": 3,
            "accepted_id_types": ["Passport", "Driving license"],
            "require_license_check": True,
        },
        POLICY,
    )
    assert problems == []
    rules = TenantRules.of(POLICY, overrides)
    assert rules.rules.verify_threshold == 90.0 and rules.max_attempts == 3 and rules.require_license_check
    assert rules.values["accepted_id_types"] == ["Driving license", "Passport"]  # the service's order
    assert rules.accepts("Passport") and not rules.accepts("ID card")
    check = rules.as_check()
    assert check["tenant_set"] == ["accepted_id_types", "max_attempts", "require_license_check", "verify_threshold"]
    assert check["verify_threshold"] == 90.0 and check["review_threshold"] == 80.0 and check["clear_confidence"] == 85
    assert "verify_threshold" not in rules.defaults and "review_threshold" in rules.defaults


@pytest.mark.parametrize(
    "body,field,problem",
    [
        ({"verify_threshold": 89.9}, "verify_threshold", "out_of_bounds"),
        ({"verify_threshold": 100}, "verify_threshold", "out_of_bounds"),
        ({"review_threshold": 10}, "review_threshold", "out_of_bounds"),
        ({"verify_threshold": "95"}, "verify_threshold", "type"),
        ({"verify_threshold": True}, "verify_threshold", "type"),
        ({"verify_threshold": float("nan")}, "verify_threshold", "type"),
        ({"review_threshold": 96}, "review_threshold", "above_verify_threshold"),  # the stage's verify is 95
        ({"verify_threshold": 91, "review_threshold": 92}, "review_threshold", "above_verify_threshold"),
        ({"require_liveness": "yes"}, "require_liveness", "type"),
        ({"max_attempts": 0}, "max_attempts", "invalid"),
        ({"max_attempts": 101}, "max_attempts", "invalid"),
        ({"max_attempts": 2.5}, "max_attempts", "invalid"),
        ({"accepted_id_types": []}, "accepted_id_types", "invalid"),
        ({"accepted_id_types": ["Library card"]}, "accepted_id_types", "invalid"),
        ({"accepted_id_types": ["Passport", "Passport"]}, "accepted_id_types", "invalid"),
        ({"accepted_id_types": "Passport"}, "accepted_id_types", "invalid"),
        ({"colour": "red"}, "colour", "unknown"),
    ],
)
def test_bad_settings_are_refused(body, field, problem):
    overrides, problems = parse_overrides(body, POLICY)
    assert [(p.field, p.problem) for p in problems] == [(field, problem)]


def test_null_resets_to_the_stage_default():
    overrides, problems = parse_overrides({"verify_threshold": None, "max_attempts": None}, POLICY)
    assert (overrides, problems) == ({}, [])


def test_stored_values_outside_new_bounds_are_brought_back_within():
    narrower = StagePolicy(**{**POLICY.__dict__, "verify_bounds": (93.0, 97.0), "review_bounds": (85.0, 90.0)})
    rules = TenantRules.of(narrower, {"verify_threshold": 90.0, "review_threshold": 60.0})
    assert (rules.rules.verify_threshold, rules.rules.review_threshold) == (93.0, 85.0)


def test_the_rejection_that_reaches_max_attempts_is_final():
    assert attempts_check(1, 2) == ({"rejected": 1, "max_attempts": 2, "final": False}, None)
    check, reason = attempts_check(2, 2)
    assert check["final"] is True and "no further attempts" in reason


# -- the retry schedule --------------------------------------------------------------------------

DEPLOYED = RetrySchedule(first_delay=5, factor=3, max_delay=4 * 3600, window=24 * 3600, jitter=0.2)


def _attempt_times(schedule: RetrySchedule, rand: float) -> list[float]:
    times, now, failed = [0.0], 0.0, 1
    while not schedule.gives_up(0.0, now):
        now += schedule.delay(failed, rand)
        times.append(now)
        failed += 1
    return times


def test_deployed_schedule_grows_exponentially_and_lasts_at_least_24_hours():
    assert [DEPLOYED.delay(n, 0.5) for n in range(1, 10)] == [5, 15, 45, 135, 405, 1215, 3645, 10935, 14400]
    for rand in (0.0, 0.5, 0.999):  # whatever the jitter draws
        times = _attempt_times(DEPLOYED, rand)
        assert times[-1] >= 24 * 3600 and times[-2] < 24 * 3600
        assert 10 <= len(times) <= 20
        assert times[1] <= 6  # the first retry within seconds
    assert DEPLOYED.delay(3, 0.0) == pytest.approx(45 * 0.8) and DEPLOYED.delay(3, 1.0) == pytest.approx(45 * 1.2)


def test_local_schedule_is_the_same_shape_compressed():
    from chalicelib.stage import stage_environment

    env = stage_environment("local")
    local = RetrySchedule(
        float(env["KYC_WEBHOOK_RETRY_FIRST_S"]),
        float(env["KYC_WEBHOOK_RETRY_FACTOR"]),
        float(env["KYC_WEBHOOK_RETRY_MAX_S"]),
        float(env["KYC_WEBHOOK_RETRY_WINDOW_S"]),
    )
    for rand in (0.0, 0.999):
        times = _attempt_times(local, rand)
        assert times[1] <= 2 and times[2] <= 6  # the first retries within seconds
        assert times[-1] <= 5 * 60  # all of it within a few minutes
        assert len(times) >= 6


def test_sqs_delays_are_whole_seconds_up_to_15_minutes():
    assert sqs_delay(100.0, 100.0) == 0 and sqs_delay(99.0, 100.0) == 0
    assert sqs_delay(100.2, 100.0) == 1 and sqs_delay(103.0, 100.0) == 3
    assert sqs_delay(100.0 + 4 * 3600, 100.0) == 900  # longer waits are enqueued again


# -- the URL rules -------------------------------------------------------------------------------


def resolver(*addresses):
    return lambda host, port: list(addresses)


def test_https_urls_of_public_hosts_are_accepted():
    target = check_url("https://hooks.example.com/kyc?x=1", resolver=resolver("93.184.216.34", "2606:2800:220::1"))
    assert (target.host, target.port, target.path) == ("hooks.example.com", 443, "/kyc?x=1")
    assert target.addresses == ("93.184.216.34", "2606:2800:220::1")
    assert check_url("https://93.184.216.34:8443/h").port == 8443


@pytest.mark.parametrize(
    "url,addresses,problem",
    [
        ("http://hooks.example.com/", ("93.184.216.34",), "scheme"),
        ("ftp://hooks.example.com/", ("93.184.216.34",), "scheme"),
        ("https://internal.example.com/", ("10.0.0.5",), "not_public"),
        ("https://internal.example.com/", ("93.184.216.34", "192.168.1.2"), "not_public"),  # any private one
        ("https://localhost/", ("127.0.0.1",), "not_public"),
        ("https://127.0.0.1/", (), "not_public"),
        ("https://169.254.169.254/latest/meta-data", (), "not_public"),  # link-local: instance metadata
        ("https://[::1]/", (), "not_public"),
        ("https://[fe80::1]/", (), "not_public"),
        ("https://[::ffff:10.0.0.1]/", (), "not_public"),  # IPv4-mapped
        ("https://100.64.0.1/", (), "not_public"),  # shared address space (CGNAT)
        ("https://0.0.0.0/", (), "not_public"),
        ("https://224.0.0.1/", (), "not_public"),
        ("https://user:pw@hooks.example.com/", ("93.184.216.34",), "invalid"),
        ("https://hooks.example.com/#frag", ("93.184.216.34",), "invalid"),
        ("https://hooks.example.com:99999/", ("93.184.216.34",), "invalid"),
        ("https:///nohost", (), "invalid"),
        ("https://hooks.example.com/ space", ("93.184.216.34",), "invalid"),
        ("https://unknown.example.com/", (), "unresolvable"),
        ("", (), "missing"),
        (None, (), "missing"),
    ],
)
def test_refused_urls(url, addresses, problem):
    with pytest.raises(UrlRefused) as refused:
        check_url(url, resolver=resolver(*addresses))
    assert refused.value.problem == problem


def test_only_the_local_stage_accepts_http_to_127_0_0_1():
    with pytest.raises(UrlRefused):
        check_url("http://127.0.0.1:9000/hook")
    target = check_url("http://127.0.0.1:9000/hook", allow_loopback_http=True)
    assert target.addresses == ("127.0.0.1",) and target.port == 9000
    for url in ("http://localhost:9000/", "http://10.0.0.1:9000/", "http://127.0.0.2:9000/"):
        with pytest.raises(UrlRefused):
            check_url(url, allow_loopback_http=True, resolver=resolver("127.0.0.1"))


def test_unresolvable_host_is_refused():
    def fail(host, port):
        raise OSError("no such host")

    with pytest.raises(UrlRefused) as refused:
        check_url("https://nowhere.example.com/", resolver=fail)
    assert refused.value.problem == "unresolvable"


def test_public_addresses():
    assert is_public("8.8.8.8") and is_public("2001:4860:4860::8888")
    assert not any(
        is_public(a)
        for a in ("10.1.2.3", "172.16.0.1", "192.168.0.1", "127.0.0.1", "::1", "169.254.1.1", "fc00::1", "not an ip")
    )


# -- signatures ------------------------------------------------------------------------------------


def test_signatures_follow_the_standard_webhooks_specification():
    from standardwebhooks.webhooks import Webhook

    from chalicelib.outbound.delivery import signature_headers
    from chalicelib.storage.webhooks import new_secret

    secret, previous = new_secret(), new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    body = '{"event": "kyc.status_changed", "tenant": "acme"}'
    when = dt.datetime.now(dt.UTC)
    headers = signature_headers("msg_1", body, [secret, previous], when)
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == str(int(when.timestamp()))
    # the specification itself: v1,<base64 HMAC-SHA256 of "id.timestamp.body"> with the secret's bytes
    expected = base64.b64encode(
        hmac.new(
            base64.b64decode(secret[6:]), f"msg_1.{int(when.timestamp())}.{body}".encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert headers["webhook-signature"].split(" ")[0] == f"v1,{expected}"
    # and the package verifies it with either secret (a rotation's grace period), not with a third
    assert Webhook(secret).verify(body, headers) == {"event": "kyc.status_changed", "tenant": "acme"}
    assert Webhook(previous).verify(body, headers)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(new_secret()).verify(body, headers)
