"""`python -m kyc_service redrive [--stage S] [--aws-port M]`: the records the stream handlers gave
up on (`{stage}-kyc-stream-failures`) re-queued for verification, or marked needs_review when
their verification failed for good (chalicelib/handlers/redrive.py); identity and notification
failures run again. On the local stack or a deployed stage (commands/target.py). Prints one JSON
line per record (a hashed reference, no personal data), then a summary. Exit status 0, or 1 when
a failed batch could not be handled (it stays on the queue for the next run).
"""

from __future__ import annotations

import json


def _command(args) -> int:
    from kyc_service.commands import target

    where = target.use(args)
    from chalicelib.handlers import redrive

    max_redrives = redrive.MAX_REDRIVES if args.max_redrives is None else args.max_redrives
    totals = redrive.run(
        max_messages=args.max_messages,
        max_redrives=max_redrives,
        report=lambda done: print(json.dumps(done.to_dict()), flush=True),
    )
    actions = (
        ", ".join(
            f"{n} {action}" for action, n in sorted(totals.items()) if action not in ("messages", "failed_messages")
        )
        or "no records"
    )
    print(
        f"redrive ({where}): {totals['messages']} failed batch(es) read: {actions}"
        + (f"; {totals['failed_messages']} left on the queue" if totals["failed_messages"] else "")
    )
    return 1 if totals["failed_messages"] else 0


def register(subparsers) -> None:
    from kyc_service.commands import target

    p = subparsers.add_parser("redrive", help="re-queue the records the stream handlers gave up on")
    p.add_argument("--max-messages", type=int, default=1000, help="failed batches to read at most")
    p.add_argument(
        "--max-redrives",
        type=int,
        help="re-queues of one submission before it is marked needs_review (default 2, "
        "chalicelib/handlers/redrive.MAX_REDRIVES)",
    )
    target.add_arguments(p)
    p.set_defaults(func=_command)
