"""API Gateway behaviour that Chalice's local gateway lacks, for the local stack and tests.

On AWS, a Lambda authorizer that raises an error whose message is "Unauthorized"
makes API Gateway answer 401, and the stage's Gateway Responses (set by the
deployment template) give 401/403 bodies the contract's error shape. Chalice's
local gateway turns such an exception into a 500 and uses its own bodies; this
module makes it behave as the deployed API does.
"""

from __future__ import annotations

import re
import sys

from chalice import local

from chalicelib.errors import error_json

_HEADERS = {"Content-Type": "application/json"}


_PII_SEGMENT = re.compile(r"(/email/)[^/?]+")
_PAGE_TOKEN = re.compile(r"([?&]next=)[^&\s\"]+")  # a queue page token holds a record key (an e-mail)


def _access_log(handler, fmt, *args) -> None:
    """The local server's access log without the e-mail path segment (PII)."""
    line = (fmt % args) if args else fmt
    safe = _PAGE_TOKEN.sub(r"\1<token>", _PII_SEGMENT.sub(r"\1<email>", line))
    sys.stderr.write(f"{handler.address_string()} - {safe}\n")


def install() -> None:
    local.ChaliceRequestHandler.log_message = _access_log
    cls = local.LocalGatewayAuthorizer
    if getattr(cls, "_kyc_gateway_responses", False):
        return
    original = cls.authorize

    def authorize(self, raw_path, lambda_event, lambda_context):
        try:
            return original(self, raw_path, lambda_event, lambda_context)
        except local.NotAuthorizedError as exc:
            raise local.NotAuthorizedError(
                {**exc.headers, **_HEADERS}, error_json("unauthorized", "missing or invalid token")
            ) from None
        except local.ForbiddenError as exc:
            raise local.ForbiddenError(
                {**exc.headers, **_HEADERS}, error_json("forbidden", "this token is not valid for that resource")
            ) from None
        except local.LocalGatewayException:
            raise
        except Exception as exc:
            if str(exc) != "Unauthorized":
                raise
            raise local.NotAuthorizedError(
                {"x-amzn-ErrorType": "UnauthorizedException", **_HEADERS},
                error_json("unauthorized", "missing or invalid token"),
            ) from None

    cls.authorize = authorize
    cls._kyc_gateway_responses = True
