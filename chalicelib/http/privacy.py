"""The privacy routes: erasure on request (CONTRACT.md §1, `DELETE .../email/{email}`).

Admins of the tenant only; the route checks the tenant and the admin group itself, whatever the
authorizer allowed. The work is chalicelib/storage/erasure.py (shared with `python -m kyc_service
erase`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

from chalicelib.config import settings
from chalicelib.errors import Conflict, NotFound
from chalicelib.http.auth import Caller, require_admin
from chalicelib.http.validation import check_tenant, path_email

if TYPE_CHECKING:
    from chalice.app import Request

JSON: dict[str, str | list[str]] = {"Content-Type": "application/json"}


def erase(request: Request, stage: str, tenant: str, email: str) -> Response:
    """Erase a customer: 200 `{"erased": {"records": n, "documents": m}}`; 404 when nothing of
    theirs is left (never there, or erased already); 409 while another run of the same erasure
    holds it (retry)."""
    from chalicelib.storage import erasure, tombstones

    if stage != settings().stage:
        raise NotFound("no such stage")
    caller = Caller.from_context((request.context or {}).get("authorizer"))
    require_admin(caller, check_tenant(tenant))
    customer = path_email(email)
    try:
        erased = erasure.erase(tenant, customer, by=f"admin:{caller.subject}")
    except tombstones.ErasureBusy:
        raise Conflict("an erasure of this customer is in progress; retry in a minute") from None
    if erased is None:
        raise NotFound("nothing to erase for that e-mail")
    return Response(body=erased.answer(), status_code=200, headers=JSON)
