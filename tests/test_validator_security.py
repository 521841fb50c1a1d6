"""The licence validator's credentials (issue 17): the token comes from Parameter Store on deployed
stages, travels only over https there, and never follows a redirect (tried on loopback servers)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from chalicelib.config import settings
from chalicelib.handlers import licence

pytestmark = pytest.mark.integration

MESSAGE = {"driver_license_id": "D1", "uuid": "u-1"}


class Server:
    """A loopback HTTP server: answers `status` (with `location`), records every request's token."""

    def __init__(self, host: str = "127.0.0.1", status: int = 200, location: str | None = None):
        self.seen: list[str | None] = []
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.seen.append(self.headers.get("Authorization"))
                data = json.dumps({"valid": True}).encode()
                self.send_response(outer.status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self.do_POST()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}/validate"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def servers():
    made: list[Server] = []

    def make(**kw) -> Server:
        made.append(Server(**kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed_with_the_token(servers, env, status):
    elsewhere = servers(host="127.0.0.2")  # another host on loopback
    validator = servers(status=status, location=elsewhere.url)
    env.set(KYC_LICENSE_VALIDATOR_URL=validator.url, KYC_LICENSE_VALIDATOR_TOKEN="s3cret")
    with pytest.raises(licence.CheckImpossible, match="redirect"):
        licence.call_validator(MESSAGE, licence.Validator.of(settings()))
    assert validator.seen == ["Bearer s3cret"]
    assert elsewhere.seen == []  # neither the token nor the request reached the other host


def test_deployed_stage_refuses_a_plain_http_validator(servers, env):
    validator = servers()
    env.set(KYC_STAGE="dev", KYC_LICENSE_VALIDATOR_URL=validator.url, KYC_LICENSE_VALIDATOR_TOKEN="s3cret")
    env.unset("KYC_AWS_ENDPOINT")
    with pytest.raises(licence.CheckImpossible, match="https"):
        licence.call_validator(MESSAGE, licence.Validator.of(settings()))
    assert validator.seen == []
    env.set(KYC_STAGE="local")  # the local stack keeps its plain-http validator
    assert licence.call_validator(MESSAGE, licence.Validator.of(settings())) == {"valid": True}


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/validate", "file:///etc/passwd"])
def test_other_schemes_are_refused_everywhere(env, url):
    env.set(KYC_LICENSE_VALIDATOR_URL=url)
    with pytest.raises(licence.CheckImpossible):
        licence.call_validator(MESSAGE, licence.Validator.of(settings()))


def test_deployed_stage_ignores_a_token_in_its_environment(env):
    env.set(KYC_STAGE="prod", KYC_LICENSE_VALIDATOR_TOKEN="in-the-environment")
    env.unset("KYC_AWS_ENDPOINT")
    env.unset("KYC_LICENSE_VALIDATOR_TOKEN_PARAMETER")
    assert licence.Validator.of(settings()).bearer() is None


@pytest.fixture
def fresh_tokens():
    licence.forget_token()
    yield
    licence.forget_token()


def test_token_from_parameter_store_read_once_and_again_after_a_refusal(aws_env, servers, env, fresh_tokens):
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="/kyc-service/local/licence-validator-token", Value="from-ssm", Type="SecureString")
    validator = servers()
    env.set(
        KYC_LICENSE_VALIDATOR_URL=validator.url,
        KYC_LICENSE_VALIDATOR_TOKEN="in-the-environment",
        KYC_LICENSE_VALIDATOR_TOKEN_PARAMETER="/kyc-service/local/licence-validator-token",
    )
    configured = licence.Validator.of(settings())
    licence.call_validator(MESSAGE, configured)
    ssm.put_parameter(
        Name="/kyc-service/local/licence-validator-token", Value="rotated", Type="SecureString", Overwrite=True
    )
    licence.call_validator(MESSAGE, configured)
    assert validator.seen == ["Bearer from-ssm", "Bearer from-ssm"]  # read at first use, then cached
    validator.status = 401
    with pytest.raises(licence.CheckImpossible):
        licence.call_validator(MESSAGE, configured)
    validator.status = 200
    licence.call_validator(MESSAGE, configured)
    assert validator.seen[-1] == "Bearer rotated"  # a refusal makes the next call read it again


def test_a_missing_token_parameter_makes_the_check_impossible(aws_env, servers, env, fresh_tokens):
    validator = servers()
    env.set(KYC_LICENSE_VALIDATOR_URL=validator.url, KYC_LICENSE_VALIDATOR_TOKEN_PARAMETER="/nope")
    with pytest.raises(licence.CheckImpossible, match="parameter"):
        licence.call_validator(MESSAGE, licence.Validator.of(settings()))
    assert validator.seen == []
