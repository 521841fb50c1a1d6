"""Which stage's AWS an operator command works on: a local stack's embedded AWS, or a deployed
stage through the operator's own AWS credentials (region and profile as the AWS CLI reads them).

`--stage local` (the default) or `--aws-port M` means the local stack (port 5000 unless given);
any other stage is a deployed one, its resource names taken from .chalice/config.json.
"""

from __future__ import annotations

import argparse
import os

LOCAL_AWS_PORT = 5000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stage", default="local", help="the stage (default local: the local stack; another: a deployed stage)"
    )
    parser.add_argument(
        "--aws-port", type=int, help=f"the local stack's embedded AWS (default {LOCAL_AWS_PORT} for --stage local)"
    )


def is_local(args: argparse.Namespace) -> bool:
    return bool(args.aws_port) or args.stage == "local"


def use(args: argparse.Namespace) -> str:
    """Point chalicelib's settings and clients at the stage; returns a description of where."""
    from chalicelib import aws, config

    if is_local(args):
        from kyc_service.local import env as localenv

        port = args.aws_port or LOCAL_AWS_PORT
        localenv.apply(args.stage, port)
        where = f"local stack, stage {args.stage}, embedded AWS {localenv.endpoint(port)}"
    else:
        from chalicelib.stage import NAME_VARIABLES, stage_environment

        try:
            environment = stage_environment(args.stage)
        except KeyError:
            raise SystemExit(f"no stage {args.stage!r} in .chalice/config.json") from None
        os.environ.pop("KYC_AWS_ENDPOINT", None)
        os.environ["KYC_STAGE"] = args.stage
        for variable in NAME_VARIABLES.values():
            if environment.get(variable):
                os.environ[variable] = environment[variable]
        config.reset()
        where = f"deployed stage {args.stage} (your AWS credentials)"
    aws.reset_clients()
    return where
