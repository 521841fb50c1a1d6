"""DynamoDB global secondary indexes, one per table per stack update.

CloudFormation creates or deletes at most one global secondary index per table in one stack
update. A template that adds two (the review queue's, issue 14) or more (issue 16's ID-number
index on top) to a live table therefore goes through intermediate templates: `index_steps`
gives them, each one index closer to the template, and `deploy.deploy_resources_stack` applies
them in order, waiting for every index to be ACTIVE before the next step. A new table is created
with all its indexes at once; nothing steps there.
"""

from __future__ import annotations

import copy
import time
from typing import Any

TABLE = "AWS::DynamoDB::Table"


def live_indexes(ddb: Any, tables: dict[str, str]) -> dict[str, dict[str, Any]]:
    """{logical id: {"indexes": {name: definition}, "attributes": {name: type}}} of the tables
    that exist (`tables`: logical id -> table name)."""
    live = {}
    for logical, name in tables.items():
        try:
            table = ddb.describe_table(TableName=name)["Table"]
        except ddb.exceptions.ResourceNotFoundException:
            continue
        live[logical] = {
            "indexes": {
                i["IndexName"]: {
                    "IndexName": i["IndexName"],
                    "KeySchema": i["KeySchema"],
                    "Projection": i.get("Projection", {"ProjectionType": "ALL"}),
                }
                for i in table.get("GlobalSecondaryIndexes", [])
            },
            "attributes": {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]},
        }
    return live


def _key_attributes(key_schema: list[dict[str, Any]]) -> list[str]:
    return [k["AttributeName"] for k in key_schema]


def _with_indexes(props: dict[str, Any], indexes: list[dict[str, Any]], types: dict[str, str]) -> None:
    """Give a table's properties these indexes, and exactly the attribute definitions its keys use."""
    used: list[str] = []
    for schema in [props["KeySchema"], *(i["KeySchema"] for i in indexes)]:
        used += [a for a in _key_attributes(schema) if a not in used]
    props["AttributeDefinitions"] = [{"AttributeName": a, "AttributeType": types[a]} for a in used]
    if indexes:
        props["GlobalSecondaryIndexes"] = indexes
    else:
        props.pop("GlobalSecondaryIndexes", None)


def index_steps(template: dict[str, Any], live: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The templates to apply in order so that no update changes more than one index of a table;
    the last one is `template` itself (alone when no table needs steps). Removals go first, one
    at a time, then additions in the template's order."""
    tables = {
        lid: res for lid, res in template.get("Resources", {}).items() if res.get("Type") == TABLE and lid in live
    }
    state = {lid: dict(live[lid]["indexes"]) for lid in tables}
    steps: list[dict[str, Any]] = []
    while True:
        step = copy.deepcopy(template)
        changed = False
        for lid, res in tables.items():
            props = res.get("Properties", {})
            wanted = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
            have = state[lid]
            removals = sorted(set(have) - set(wanted))
            additions = [name for name in wanted if name not in have]
            if removals:
                del have[removals[0]]
            elif additions:
                have[additions[0]] = wanted[additions[0]]
            else:
                continue
            changed = True
            order = [n for n in wanted if n in have] + [n for n in have if n not in wanted]
            types = {
                **live[lid]["attributes"],
                **{a["AttributeName"]: a["AttributeType"] for a in props.get("AttributeDefinitions", [])},
            }
            _with_indexes(
                step["Resources"][lid]["Properties"], [copy.deepcopy(wanted.get(n, have[n])) for n in order], types
            )
        if not changed:
            break
        steps.append(step)
    if steps:
        steps.pop()  # the last step is the template itself (same indexes), given below as it is
    return [*steps, template]


def wait_active(ddb: Any, table_names: list[str], timeout: float = 3600, poll: float = 10) -> None:
    """Wait until every index of the tables is ACTIVE (backfilled) before the next index."""
    deadline = time.monotonic() + timeout
    while True:
        busy = [
            name
            for name in table_names
            if any(
                i.get("IndexStatus") != "ACTIVE"
                for i in ddb.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
            )
        ]
        if not busy:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"indexes of {busy} not ACTIVE after {timeout} s")
        time.sleep(poll)
