"""`python -m kyc_service erase --tenant T --email E [--stage S] [--aws-port M]`: erase a customer
(GDPR Art. 17, BIPA), exactly as `DELETE .../email/{email}` does (chalicelib/storage/erasure.py),
on the local stack or a deployed stage (commands/target.py). Prints one JSON line: what was erased
and the erasure's reference (the one the `kyc.erased` notification carries); nothing personal.
Exit status 0 erased, 1 nothing (left) to erase, 2 another run of this erasure is in progress.
"""

from __future__ import annotations

import getpass
import json
import sys

from kyc_service.commands import target


def _command(args) -> int:
    where = target.use(args)
    from chalicelib.http.validation import path_email
    from chalicelib.storage import erasure, tombstones

    email = path_email(args.email)  # an e-mail, or a bundle record's app_uuid
    by = f"operator:{args.operator or getpass.getuser()}"
    try:
        erased = erasure.erase(args.tenant, email, by=by)
    except tombstones.ErasureBusy as exc:
        print(f"erase: {exc}; try again in a minute", file=sys.stderr)
        return 2
    if erased is None:
        print(f"erase: nothing to erase for that e-mail in tenant {args.tenant} ({where})", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                **erased.answer(),
                "tenant": erased.tenant,
                "reference": erased.reference,
                "erasure_id": erased.erasure_id,
                "counts": erased.counts,
            }
        )
    )
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "erase", help="erase a customer's data (records, documents, identity; the audit trail kept PII-free)"
    )
    p.add_argument("--tenant", required=True)
    p.add_argument("--email", required=True, help="the e-mail (or a bundle record's app_uuid)")
    p.add_argument("--operator", help="who asked, for the audit tombstone (default: your user name)")
    target.add_arguments(p)
    p.set_defaults(func=_command)
