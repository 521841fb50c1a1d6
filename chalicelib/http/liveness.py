"""`POST /kyc/stage/{stage}/tenant/{tenant}/liveness` (user, admin): a Rekognition Face Liveness
session for the caller (an admin may name a customer with `{"email": ...}`), `{"session_id"}`.
The customer's frontend runs the session with the Amplify FaceLivenessDetector and then sends
`{"kind": "liveness", "session_id": ...}` in place of the selfie; the verifier reads the result
(handlers/signals.liveness_gate). The session's reference image is written under the customer's
biometric evidence (keys.liveness_prefix): erased and retained like a selfie.

Where the provider has no liveness engine (the self-hosted one): 400 `liveness_unavailable`.
After 5 failed liveness checks within 3 minutes (AWS's recommendation): 429 until the window passes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

from chalicelib import services
from chalicelib.config import settings
from chalicelib.errors import InvalidInput, LivenessUnavailable, NotFound, Throttled
from chalicelib.http.auth import Caller, require_record_access, require_tenant
from chalicelib.http.validation import check_path_echo, check_tenant, normalise_email, parse_json_body
from chalicelib.keys import liveness_prefix
from chalicelib.providers.port import ProviderThrottled, liveness_of

if TYPE_CHECKING:
    from chalice.app import Request

JSON: dict[str, str | list[str]] = {"Content-Type": "application/json"}


def create_session(request: Request, stage: str, tenant: str) -> Response:
    from chalicelib.storage.liveness import WINDOW_S, throttled

    if stage != settings().stage:
        raise NotFound("no such stage")
    caller = Caller.from_context((request.context or {}).get("authorizer"))
    require_tenant(caller, check_tenant(tenant))
    body = parse_json_body(request.raw_body, settings()) if request.raw_body else {}
    unknown = sorted(set(body) - {"email", "stage", "tenant"})
    if unknown:
        raise InvalidInput(
            "unknown fields: " + ", ".join(unknown), [{"field": k, "problem": "unknown"} for k in unknown]
        )
    check_path_echo(body, stage, tenant)
    owner = normalise_email(body["email"]) if body.get("email") is not None else caller.email
    require_record_access(caller, tenant, owner)
    live = liveness_of(services.provider())
    if live is None:
        raise LivenessUnavailable(
            "this stage's verification provider has no liveness engine; send a selfie "
            "(a tenant that requires liveness gets a manual review here)"
        )
    if throttled(tenant, owner):
        raise Throttled(f"too many failed liveness checks; try again in {WINDOW_S // 60} minutes")
    try:
        session_id = live.create_liveness_session(liveness_prefix(tenant, owner))
    except ProviderThrottled:
        raise Throttled("the liveness service is busy; try again shortly") from None
    return Response(body={"session_id": session_id}, status_code=201, headers=JSON)
