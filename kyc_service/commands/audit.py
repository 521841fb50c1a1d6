"""`python -m kyc_service audit --tenant T --email E`: a customer's status changes, oldest first
(for an erased customer, the PII-free tombstones the erasure left: `"erased": true`).

Against the local stack with `--aws-port M`; against a deployed stage with the operator's
own AWS credentials (`--stage S`, tables named as the stage names them).
"""

from __future__ import annotations

import datetime as dt
import json
import os


def _command(args) -> int:
    from chalicelib import config

    if args.aws_port:
        from kyc_service.local import env as localenv

        localenv.apply(args.stage, args.aws_port)
    else:
        os.environ["KYC_STAGE"] = args.stage
        config.reset()
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
    p.add_argument("--stage", default="local")
    p.add_argument("--aws-port", type=int, help="the local stack's embedded AWS; omit for a deployed stage")
    p.set_defaults(func=_command)
