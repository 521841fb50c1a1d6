"""Persistence of the local stack across restarts (`run --state-dir DIR`).

moto keeps everything in memory. On a clean stop the stack writes the data that
matters to DIR: every item of the stage's tables (DynamoDB JSON), every object of
the document bucket, and the user pool's users with their attributes and groups.
On start, after the resources exist again, it loads them back. Messages in flight
on queues and topics are not kept (see docs/local.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.stage import resource_names
from kyc_service.local.env import embedded_client

SKIP_USER_ATTRIBUTES = {"sub"}


def _clients(endpoint: str):
    return tuple(embedded_client(service, endpoint) for service in ("dynamodb", "s3", "cognito-idp"))


def _stage_names() -> tuple[list[str], str, str]:
    from chalicelib.config import settings

    s = settings()
    # the events table first: restored idempotency markers keep replayed decisions from notifying twice
    return [s.events_table_name, s.identity_table_name, s.table_name], s.bucket, resource_names(s.stage).user_pool


def save(state_dir: str, endpoint: str) -> None:
    ddb, s3, idp = _clients(endpoint)
    root = Path(state_dir)
    tables, bucket, pool_name = _stage_names()
    (root / "tables").mkdir(parents=True, exist_ok=True)
    for table in tables:
        items = []
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            items.extend(page["Items"])
        (root / "tables" / f"{table}.json").write_text(json.dumps(items))
    objects = root / "objects"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            head = s3.get_object(Bucket=bucket, Key=obj["Key"])
            target = objects / obj["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(head["Body"].read())
            (target.parent / (target.name + ".meta.json")).write_text(
                json.dumps({"ContentType": head.get("ContentType", "binary/octet-stream")})
            )
    users = []
    for pool in idp.list_user_pools(MaxResults=60)["UserPools"]:
        if pool["Name"] != pool_name:
            continue
        for page in idp.get_paginator("list_users").paginate(UserPoolId=pool["Id"]):
            for user in page["Users"]:
                groups = idp.admin_list_groups_for_user(UserPoolId=pool["Id"], Username=user["Username"])["Groups"]
                users.append(
                    {
                        "attributes": [a for a in user["Attributes"] if a["Name"] not in SKIP_USER_ATTRIBUTES],
                        "groups": [g["GroupName"] for g in groups],
                    }
                )
    (root / "users.json").write_text(json.dumps(users))


def restore(state_dir: str, endpoint: str) -> None:
    """Load DIR back; called after the resources were created again."""
    root = Path(state_dir)
    if not root.is_dir():
        return
    ddb, s3, idp = _clients(endpoint)
    tables, bucket, pool_name = _stage_names()
    for table in tables:
        path = root / "tables" / f"{table}.json"
        if path.exists():
            for item in json.loads(path.read_text()):
                ddb.put_item(TableName=table, Item=item)
    objects = root / "objects"
    if objects.is_dir():
        for path in objects.rglob("*"):
            if path.is_file() and not path.name.endswith(".meta.json"):
                meta = json.loads((path.parent / (path.name + ".meta.json")).read_text())
                s3.put_object(
                    Bucket=bucket,
                    Key=str(path.relative_to(objects)),
                    Body=path.read_bytes(),
                    ContentType=meta["ContentType"],
                )
    users_path = root / "users.json"
    pools = [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == pool_name]
    if users_path.exists() and pools:
        pool_id = pools[0]["Id"]
        for user in json.loads(users_path.read_text()):
            email = next(a["Value"] for a in user["attributes"] if a["Name"] == "email")
            try:
                idp.admin_create_user(
                    UserPoolId=pool_id, Username=email, UserAttributes=user["attributes"], MessageAction="SUPPRESS"
                )
            except idp.exceptions.UsernameExistsException:
                continue
            for group in user["groups"]:
                idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
