"""`python -m kyc_service run`: the whole service on one machine (kyc_service/local/stack.py),
until Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading
import time


def wait_for_interrupt() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


def _command(args) -> int:
    from kyc_service.local.stack import LocalStack

    started = time.monotonic()
    stack = LocalStack(
        stage=args.stage,
        api_port=args.api_port,
        aws_port=args.aws_port,
        state_dir=args.state_dir,
        provider=args.provider,
    )
    try:
        stack.start()
    except OSError as exc:
        print(f"could not start the local stack: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    print(stack.banner(), flush=True)
    print(f"ready in {time.monotonic() - started:.1f} s", flush=True)
    try:
        wait_for_interrupt()
    finally:
        print("stopping...", flush=True)
        stack.stop()
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="run the whole service on this machine")
    p.add_argument("--api-port", type=int, default=8000)
    p.add_argument("--aws-port", type=int, default=5000)
    p.add_argument("--stage", default="local")
    p.add_argument("--state-dir", help="keep the embedded AWS's state here across restarts")
    p.add_argument(
        "--provider",
        choices=("auto", "none"),
        default="auto",
        help="auto: self-hosted engines when installed; none: API and events without verification",
    )
    p.set_defaults(func=_command)
