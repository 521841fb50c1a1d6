"""What the erasure, evidence and redrive tests share: the REST API over a whole stage (Chalice's
test client on the `stage` fixture's moto server), real presigned POSTs to it, and a listing of
every table and every object version of the stage."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import requests

from chalicelib.stage import ROOT

TENANT = "acme"
BASE = f"/kyc/stage/local/tenant/{TENANT}"


def hdr(token: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}


@contextmanager
def api_client(env, issuer) -> Iterator[Any]:
    """Chalice's test client on the stage (tokens from the test issuer)."""
    from chalice.test import Client

    import app as app_module
    from chalicelib.config import settings
    from tests.conftest import ISSUER

    env.set(KYC_TOKEN_ISSUER=ISSUER, KYC_JWKS=issuer.jwks())
    settings()  # parsed now, from the stage's environment, not inside a request
    cwd = os.getcwd()
    os.chdir(ROOT)  # the test client reads .chalice/config.json from the current directory
    try:
        with Client(app_module.app, stage_name="local") as client:
            yield client
    finally:
        os.chdir(cwd)


def post_form(upload: dict[str, Any], data: bytes, content_type: str = "image/png") -> int:
    """The presigned POST, over HTTP, as a browser or curl sends it: every field, then the file."""
    form = upload["upload"]
    response = requests.post(
        form["url"], data=form["fields"], files={"file": ("image", data, content_type)}, timeout=30
    )
    return response.status_code


def upload(http, token: str, kind: str, data: bytes, email: str | None = None) -> tuple[str, dict[str, Any]]:
    """Ask the documents route for an upload and send `data` through it: (key, the form)."""
    body = {"content_type": "image/png", "kind": kind, **({"email": email} if email else {})}
    r = http.http.post(f"{BASE}/documents", headers=hdr(token), body=json.dumps(body))
    assert r.status_code == 201, r.body
    assert post_form(r.json_body, data) in (200, 201, 204)
    return r.json_body["key"], r.json_body


def details(email: str, **over: Any) -> dict[str, Any]:
    body = {
        "email": email,
        "first_name": "Erasmus",
        "last_name": "Gonewright",
        "date_of_birth": "1985-03-04",
        "id_type": "Driving license",
        "id_value": "E1111-2222",
        "address": "7 Vanishing Lane",
        "phone_number": "+15555550177",
    }
    body.update(over)
    return body


def save(http, token: str, body: dict[str, Any]) -> Any:
    return http.http.post(f"{BASE}/create_or_update", headers=hdr(token), body=json.dumps(body))


def path(email: str) -> str:
    return f"{BASE}/email/{quote(email, safe='')}"


def everything(stage) -> str:
    """Every item of every table of the stage and every object version (and delete marker) of its
    bucket, with the bodies of the objects, as one text to search."""
    from chalicelib.config import settings

    s = settings()
    parts = []
    for table in (s.table_name, s.identity_table_name, s.events_table_name):
        for page in stage.ddb.get_paginator("scan").paginate(TableName=table):
            parts.append(json.dumps(page["Items"], sort_keys=True))
    bucket = stage.outputs["DocumentBucketName"]
    for page in stage.s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            parts.append(version["Key"])
            body = stage.s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"]
            parts.append(body.read().decode("latin-1"))
        parts += [marker["Key"] for marker in page.get("DeleteMarkers", [])]
    return "\n".join(parts)
