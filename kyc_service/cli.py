"""`python -m kyc_service <command>`.

Each command lives in its own module, which exposes `register(subparsers)`; a
module's heavy imports happen inside its command function, so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = (
    "kyc_service.commands.run",  # run
    "kyc_service.commands.token",  # token
    "kyc_service.engines.cli",  # compare-faces, analyze-id
    "kyc_service.commands.demo",  # demo
    "kyc_service.commands.deploy",  # package, deploy, harden-mappings
    "kyc_service.commands.submit_bundle",  # submit-bundle
    "kyc_service.commands.audit",  # audit
    "kyc_service.commands.decide",  # decide
    "kyc_service.commands.console",  # console
    "kyc_service.commands.screenshots",  # console-screenshots
    "kyc_service.commands.erase",  # erase
    "kyc_service.commands.redrive",  # redrive
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kyc_service", description="kyc-service local stack and tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # module not written yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
