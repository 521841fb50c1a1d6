"""`python -m kyc_service console --tenant T`: the review console's address for the local stack,
signed in as an admin of the tenant (a token from the local user pool in the URL fragment, which
the browser never sends to a server)."""

from __future__ import annotations


def console_url(
    tenant: str, email: str | None = None, api_port: int = 8000, aws_port: int = 5000, stage: str = "local"
) -> str:
    from kyc_service.commands.token import issue_token

    token = issue_token(tenant, email, admin=True, aws_port=aws_port, stage=stage)
    return f"http://127.0.0.1:{api_port}/console#token={token}"


def _command(args) -> int:
    print(f"The review console of tenant {args.tenant} (valid as long as its token, an hour):")
    print(console_url(args.tenant, args.email, args.api_port, args.aws_port, args.stage))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("console", help="print the review console's URL, signed in as a tenant admin (last line)")
    p.add_argument("--tenant", required=True)
    p.add_argument("--email", help="the admin's e-mail (default admin@<tenant>.example.com)")
    p.add_argument("--api-port", type=int, default=8000)
    p.add_argument("--aws-port", type=int, default=5000)
    p.add_argument("--stage", default="local")
    p.set_defaults(func=_command)
