"""`python -m kyc_service audit --tenant T --email E`: a customer's status changes, oldest first
(for an erased customer, the PII-free tombstones the erasure left: `"erased": true`).

Against the local stack by default (`--aws-port M` for another port); against a deployed stage
with the operator's own AWS credentials (`--stage S`): commands/target.py, as erase and redrive.
"""

from __future__ import annotations

import datetime as dt
import json

from kyc_service.commands import target


def _command(args) -> int:
    target.use(args)
    from chalicelib.http.validation import normalise_email
    from chalicelib.storage.events import list_audit, list_audit_tombstones

    email = args.email if "@" not in args.email else normalise_email(args.email)  # app_uuid for bundles
    entries = list_audit(args.tenant, email)
    for e in entries:
        when = dt.datetime.fromtimestamp(int(e["when"]), dt.UTC).isoformat()
        print(
            json.dumps(
                {
                    "when": when,
                    "record": e["record"],
                    "from": e["from"],
                    "to": e["to"],
                    "who": e["who"],
                    "reasons": e.get("reasons", []),
                },
                default=str,
            )
        )
    erased = list_audit_tombstones(args.tenant, email)  # an erased customer's trail, PII-free
    for e in erased:
        when = dt.datetime.fromtimestamp(int(e["when"]), dt.UTC).isoformat()
        print(
            json.dumps(
                {
                    "when": when,
                    "id_type": e.get("id_type"),
                    "from": e["from"],
                    "to": e["to"],
                    "who": e["who"],
                    "reasons": e.get("reasons", []),
                    "erased": True,
                },
                default=str,
            )
        )
    if not entries and not erased:
        print("no audit entries for that tenant and e-mail")
        return 1
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("audit", help="list a customer's status changes (who, when, from, to, reasons)")
    p.add_argument("--tenant", required=True)
    p.add_argument("--email", required=True, help="the e-mail (or a bundle record's app_uuid)")
    target.add_arguments(p)
    p.set_defaults(func=_command)
