"""`python -m kyc_service package|deploy|harden-mappings --stage S`: a stage's Lambda package
and SAM template, a `chalice deploy` of it, or the hardening of its event source mappings."""

from __future__ import annotations

import json


def _cmd_package(args) -> int:
    from kyc_service.infra.packaging import package

    result = package(args.stage, out_dir=args.out)
    print(json.dumps({k: v for k, v in result.items() if k != "zip_top_level"}, indent=2))
    return 0


def _cmd_deploy(args) -> int:
    from kyc_service.infra.deploy import deploy

    result = deploy(args.stage, region=args.region, existing_user_pool_id=args.user_pool_id)
    print(json.dumps(result, indent=2, default=str))
    return 0


def _cmd_harden(args) -> int:
    from kyc_service.infra.hardening import harden_mappings

    print(json.dumps(harden_mappings(args.stage, region=args.region, endpoint_url=args.endpoint_url), indent=2))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("package", help="chalice package + stage resources -> dist/<stage>/")
    p.add_argument("--stage", required=True)
    p.add_argument("--out", default=None, help="output directory (default dist/<stage>)")
    p.set_defaults(func=_cmd_package)

    p = subparsers.add_parser("deploy", help="resources stack, chalice deploy, harden mappings")
    p.add_argument("--stage", required=True)
    p.add_argument("--region", default=None)
    p.add_argument("--user-pool-id", default=None, help="trust this existing Cognito user pool instead of creating one")
    p.set_defaults(func=_cmd_deploy)

    p = subparsers.add_parser("harden-mappings", help="set retry/bisect/failure settings on the stage's mappings")
    p.add_argument("--stage", required=True)
    p.add_argument("--region", default=None)
    p.add_argument("--endpoint-url", default=None)
    p.set_defaults(func=_cmd_harden)
