"""`python -m kyc_service token`: a bearer token from the local stack's user pool."""

from __future__ import annotations

import secrets

from chalicelib.config import ADMIN_GROUP
from kyc_service.local.env import embedded_client, endpoint, user_pool


def issue_token(
    tenant: str, email: str | None = None, admin: bool = False, aws_port: int = 5000, stage: str = "local"
) -> str:
    """Create or update the user in the embedded Cognito pool and sign in as them."""
    email = (email or (f"admin@{tenant}.example.com" if admin else f"user@{tenant}.example.com")).lower()
    idp = embedded_client("cognito-idp", endpoint(aws_port))
    pool_id, client_id = user_pool(stage, aws_port)
    attributes = [
        {"Name": "email", "Value": email},
        {"Name": "email_verified", "Value": "true"},
        {"Name": "custom:tenant", "Value": tenant},
    ]
    try:
        idp.admin_create_user(UserPoolId=pool_id, Username=email, UserAttributes=attributes, MessageAction="SUPPRESS")
    except idp.exceptions.UsernameExistsException:  # keep the user; make sure the tenant is the one asked for
        idp.admin_update_user_attributes(
            UserPoolId=pool_id, Username=email, UserAttributes=[a for a in attributes if a["Name"] == "custom:tenant"]
        )
    password = "Kyc-" + secrets.token_urlsafe(16) + "9a!"
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    groups = {g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=email)["Groups"]}
    if admin and ADMIN_GROUP not in groups:
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=ADMIN_GROUP)
    if not admin and ADMIN_GROUP in groups:
        idp.admin_remove_user_from_group(UserPoolId=pool_id, Username=email, GroupName=ADMIN_GROUP)
    auth = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return auth["AuthenticationResult"]["IdToken"]


def _command(args) -> int:
    token = issue_token(args.tenant, args.email, args.admin, args.aws_port, args.stage)
    print(token)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("token", help="print a bearer token for the local stack (last line)")
    p.add_argument("--tenant", required=True)
    p.add_argument("--email")
    p.add_argument("--admin", action="store_true", help="member of the kyc-admin group")
    p.add_argument("--aws-port", type=int, default=5000)
    p.add_argument("--stage", default="local")
    p.set_defaults(func=_command)
