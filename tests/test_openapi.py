"""docs/openapi.yaml kept in step with the code: routes, body and record schemas, spec
validity, and real responses (chalice.test.Client on moto) checked against the spec."""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import boto3
import jsonschema
import pytest
import yaml

from chalicelib.stage import ROOT
from tests.conftest import STAGE

SPEC_PATH = ROOT / "docs" / "openapi.yaml"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
BASE = f"/kyc/stage/{STAGE}/tenant"
USER = "ashish.p@example.com"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@lru_cache(maxsize=1)
def _spec() -> dict:
    return yaml.safe_load(Path(SPEC_PATH).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def spec() -> dict:
    return copy.deepcopy(_spec())


def _resolve(ref: str) -> dict:
    assert ref.startswith("#/"), ref
    node = _spec()
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _deref(node):
    while isinstance(node, dict) and "$ref" in node:
        node = _resolve(node["$ref"])
    return node


def to_json_schema(schema):
    """An OpenAPI 3.0 schema object as plain JSON Schema: $refs inlined, nullable as null."""
    if isinstance(schema, list):
        return [to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = _deref(schema)
    out = {}
    for key, value in schema.items():
        if key in (
            "nullable",
            "example",
            "examples",
            "description",
            "xml",
            "externalDocs",
            "deprecated",
            "readOnly",
            "writeOnly",
            "discriminator",
        ):
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {name: to_json_schema(s) for name, s in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = to_json_schema(value)
        else:
            out[key] = value
    if schema.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def component(name: str) -> dict:
    return _spec()["components"]["schemas"][name]


def check_against(schema: dict, instance) -> None:
    jsonschema.Draft7Validator(
        to_json_schema(schema), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    ).validate(instance)


def spec_operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, item, op


# -- (a) routes -----------------------------------------------------------------------------


def app_routes() -> dict[tuple[str, str], list[str]]:
    import app as app_module

    return {
        (path, method.lower()): list(entry.view_args)
        for path, methods in app_module.app.routes.items()
        for method, entry in methods.items()
        if method.upper() != "OPTIONS"
    }


def test_spec_routes_equal_app_routes(spec):
    ours = {(path, method) for path, method, _, _ in spec_operations(spec)}
    assert ours == set(app_routes())


def test_path_parameters_equal_app_view_args(spec):
    routes = app_routes()
    for path, method, item, op in spec_operations(spec):
        params = [_deref(p) for p in item.get("parameters", []) + op.get("parameters", [])]
        in_path = [p["name"] for p in params if p["in"] == "path"]
        assert sorted(in_path) == sorted(routes[(path, method)]), (path, method)
        assert sorted(re.findall(r"{(\w+)}", path)) == sorted(in_path), path
        assert all(p["required"] for p in params if p["in"] == "path")


def test_every_route_declares_its_statuses(spec):
    for path, method, _, op in spec_operations(spec):
        statuses = set(op["responses"])
        assert {"415", "429", "500"} <= statuses, (path, method)
        assert statuses & {"200", "201"}, (path, method)
        if path.startswith("/kyc/"):
            assert {"400", "401", "403", "404"} <= statuses, (path, method)
            assert op.get("security", spec["security"]) == [{"bearerJwt": []}]
            if method not in ("get", "delete"):  # the methods with a body
                assert {"413"} <= statuses and "requestBody" in op, (path, method)
        else:
            assert op.get("security") == [], (path, method)


def test_authorized_routes_match_spec_security(spec):
    import app as app_module

    for path, method, _, op in spec_operations(spec):
        entry = app_module.app.routes[path][method.upper()]
        secured = op.get("security", spec["security"]) != []
        assert secured == (entry.authorizer is not None), (path, method)


# -- (b) the create_or_update body ------------------------------------------------------------


def test_create_body_matches_validation():
    from chalicelib.config import ID_TYPES
    from chalicelib.domain.submission import LINK_KINDS
    from chalicelib.http.validation import DETAIL_FIELDS, MAX_LINKS, PATH_FIELDS, SERVICE_OWNED

    body = component("CreateOrUpdateBody")
    props = body["properties"]
    assert set(props) == set(DETAIL_FIELDS) | set(PATH_FIELDS) | {"document_links"}
    assert body["additionalProperties"] is False
    for field, (_required, max_len) in DETAIL_FIELDS.items():
        assert props[field]["maxLength"] == max_len, field
    assert set(body["required"]) == {f for f, (req, _) in DETAIL_FIELDS.items() if req}
    assert tuple(props["id_type"]["enum"]) == tuple(ID_TYPES)
    assert props["document_links"]["maxItems"] == MAX_LINKS
    link = component("DocumentLink")
    assert tuple(link["properties"]["kind"]["enum"]) == tuple(LINK_KINDS)
    stored = tuple(component("StoredDocumentLink")["properties"]["kind"]["enum"])
    assert stored == (*LINK_KINDS, "liveness", "id_portrait")  # the liveness link; the service's portrait
    from chalicelib.http.validation import SESSION_ID_RE

    liveness = component("LivenessLink")
    assert liveness["properties"]["session_id"]["pattern"] == SESSION_ID_RE.pattern.replace("\\Z", "$")
    assert set(liveness["properties"]) == {"kind", "session_id"}
    assert set(link["properties"]) == {"kind", "key", "url", "filename"}
    for field in SERVICE_OWNED:
        assert f"`{field}`" in body["description"], field


def test_patterns_equal_validation_regexes():
    from chalicelib.http import validation

    props = component("CreateOrUpdateBody")["properties"]
    assert props["id_value"]["pattern"] == validation.ID_VALUE_RE.pattern
    assert validation.ZIP_RE.pattern.strip("^$") in props["zip_code"]["pattern"]
    assert validation.PHONE_RE.pattern.strip("^$") in props["phone_number"]["pattern"]
    # Python's end-of-string anchor \Z (no trailing newline) is ECMA's $ in OpenAPI patterns
    assert _spec()["components"]["parameters"]["tenant"]["schema"]["pattern"] == validation.TENANT_RE.pattern.replace(
        "\\Z", "$"
    )


def test_other_schemas_match_code():
    from chalicelib.config import ID_TYPES
    from chalicelib.domain.submission import ALLOWED_CONTENT_TYPES, LINK_KINDS
    from chalicelib.errors import ApiError

    assert set(component("UploadRequest")["properties"]["content_type"]["enum"]) == set(ALLOWED_CONTENT_TYPES)
    assert set(component("Upload")["properties"]["content_type"]["enum"]) == set(ALLOWED_CONTENT_TYPES)
    assert tuple(component("UploadRequest")["properties"]["kind"]["enum"]) == tuple(LINK_KINDS)
    assert tuple(component("ValidateBody")["properties"]["id_type"]["enum"]) == tuple(ID_TYPES)
    assert tuple(component("Record")["properties"]["id_type"]["enum"]) == tuple(ID_TYPES)
    from chalicelib.http.api import CHALICE_ERRORS

    codes = {cls.code for cls in ApiError.__subclasses__()} | {"internal_error"} | set(CHALICE_ERRORS.values())
    assert set(component("Error")["properties"]["error"]["properties"]["code"]["enum"]) == codes


# -- (c) the record -------------------------------------------------------------------------


def test_record_schema_matches_to_public():
    from chalicelib.storage.records import PUBLIC_FIELDS

    props = component("Record")["properties"]
    assert set(props) == set(PUBLIC_FIELDS) | {"document_links", "checks"}


# -- (d) a valid OpenAPI 3 document, examples included ---------------------------------------


def test_spec_is_valid_openapi_3(spec):
    from openapi_spec_validator import validate

    assert spec["openapi"].startswith("3.0.")
    validate(spec)


def _media_examples(media: dict):
    if "example" in media:
        yield media["example"]
    for example in (media.get("examples") or {}).values():
        yield _deref(example)["value"]


def test_examples_match_their_schemas(spec):
    checked = 0
    for _path, _method, _, op in spec_operations(spec):
        bodies = [_deref(op["requestBody"])] if "requestBody" in op else []
        bodies += [_deref(r) for r in op["responses"].values()]
        for holder in bodies:
            for media in (holder.get("content") or {}).values():
                for example in _media_examples(media):
                    check_against(media["schema"], example)
                    checked += 1
    for schema in spec["components"]["schemas"].values():
        if "example" in schema:
            check_against(schema, schema["example"])
            checked += 1
    assert checked >= 20


# -- (e) real responses against the spec -----------------------------------------------------


def hdr(token: str | None, content_type: str = "application/json") -> dict:
    h = {"Content-Type": content_type}
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    return h


def conforms(resp, path: str, method: str, status: int) -> dict:
    """Assert the response has `status`, that the spec declares it for the route, and that
    the body validates against the schema given there."""
    body = resp.body.decode() if isinstance(resp.body, bytes) else resp.body
    assert resp.status_code == status, body
    op = _spec()["paths"][path][method]
    assert str(status) in op["responses"], (path, method, status)
    declared = _deref(op["responses"][str(status)])
    data = json.loads(body)
    check_against(declared["content"]["application/json"]["schema"], data)
    return data


CREATE = "/kyc/stage/{stage}/tenant/{tenant}/create_or_update"
GET = "/kyc/stage/{stage}/tenant/{tenant}/email/{email}"
VALIDATE = "/kyc/stage/{stage}/tenant/{tenant}/email/{email}/validate"
DOCUMENTS = "/kyc/stage/{stage}/tenant/{tenant}/documents"


def upload_document(client, token, kind: str, content_type: str = "image/png") -> str:
    """The two steps of docs/api.md: the documents route, then the multipart POST of every
    field of upload.fields and the file (moto answers the presigned POST in-process)."""
    import requests

    r = client.http.post(
        f"{BASE}/acme/documents", headers=hdr(token), body=json.dumps({"content_type": content_type, "kind": kind})
    )
    up = conforms(r, DOCUMENTS, "post", 201)
    assert up["upload"]["fields"]["key"] == up["key"] and up["content_type"] == content_type
    sent = requests.post(
        up["upload"]["url"], data=up["upload"]["fields"], files={"file": (f"{kind}.img", PNG, content_type)}, timeout=10
    )
    assert sent.status_code in (200, 201, 204), sent.text
    head = boto3.client("s3", region_name="us-east-1").head_object(Bucket=f"{STAGE}-kyc-documents", Key=up["key"])
    assert head["ContentType"] == content_type
    return up["key"]


def submission(client, token) -> dict:
    return {
        "email": USER,
        "first_name": "Ashish",
        "last_name": "Palankar",
        "middle_name": "",
        "date_of_birth": "1990-04-20",
        "id_type": "Driving license",
        "id_value": "D1234-5678",
        "address": "123 Main Street",
        "city": "Tallahassee",
        "state": "FL",
        "zip_code": "32301",
        "phone_number": "+15555550100",
        "document_links": [
            {"kind": "id_front", "key": upload_document(client, token, "id_front"), "filename": "front.png"},
            {"kind": "selfie", "key": upload_document(client, token, "selfie", "image/jpeg"), "filename": "me.jpg"},
        ],
    }


def test_responses_conform_to_spec(client, issuer):
    user = issuer.token(email=USER)
    admin = issuer.token(email="boss@acme.test", admin=True)
    email_path = f"{BASE}/acme/email/{quote(USER, safe='')}"

    conforms(client.http.get("/health"), "/health", "get", 200)

    payload = submission(client, user)
    check_against(component("CreateOrUpdateBody"), payload)
    created = conforms(
        client.http.post(f"{BASE}/acme/create_or_update", headers=hdr(user), body=json.dumps(payload)),
        CREATE,
        "post",
        201,
    )
    same = conforms(
        client.http.put(f"{BASE}/acme/create_or_update", headers=hdr(user), body=json.dumps(payload)),
        CREATE,
        "put",
        200,
    )
    assert same["submission_id"] == created["submission_id"]

    listed = conforms(client.http.get(email_path, headers=hdr(user)), GET, "get", 200)
    assert [r["submission_id"] for r in listed["records"]] == [created["submission_id"]]

    decision = {
        "id_type": "Driving license",
        "id_value": "D1234-5678",
        "verification_status": "verified",
        "reason": "checked by hand",
    }
    check_against(component("ValidateBody"), decision)
    decided = conforms(
        client.http.post(f"{email_path}/validate", headers=hdr(admin), body=json.dumps(decision)), VALIDATE, "post", 200
    )
    assert decided["decided_by"].startswith("admin:") and decided["validation_status"] == "verified"

    # 400: bad input on each route with a body, and a malformed e-mail in a path
    bad = dict(payload, date_of_birth="2990-01-01")
    err = conforms(
        client.http.post(f"{BASE}/acme/create_or_update", headers=hdr(user), body=json.dumps(bad)), CREATE, "post", 400
    )
    assert err["error"]["code"] == "invalid_input" and err["error"]["details"]
    conforms(
        client.http.post(f"{BASE}/acme/create_or_update", headers=hdr(user), body=json.dumps(dict(payload, checks={}))),
        CREATE,
        "post",
        400,
    )
    conforms(
        client.http.post(
            f"{BASE}/acme/documents", headers=hdr(user), body=json.dumps({"content_type": "application/pdf"})
        ),
        DOCUMENTS,
        "post",
        400,
    )
    conforms(
        client.http.post(
            f"{email_path}/validate", headers=hdr(admin), body=json.dumps(dict(decision, verification_status="maybe"))
        ),
        VALIDATE,
        "post",
        400,
    )
    conforms(client.http.get(f"{BASE}/acme/email/{quote('not@an@email')}", headers=hdr(admin)), GET, "get", 400)

    # 401: no token, a malformed one
    conforms(client.http.get(email_path, headers=hdr(None)), GET, "get", 401)
    conforms(
        client.http.post(f"{BASE}/acme/create_or_update", headers=hdr("not.a.jwt"), body=json.dumps(payload)),
        CREATE,
        "post",
        401,
    )

    # 403: another tenant's token, a user on another e-mail, a user calling validate
    globex = issuer.token(tenant="globex", email=USER, admin=True)
    conforms(client.http.get(email_path, headers=hdr(globex)), GET, "get", 403)
    conforms(
        client.http.post(f"{BASE}/acme/documents", headers=hdr(globex), body=json.dumps({"content_type": "image/png"})),
        DOCUMENTS,
        "post",
        403,
    )
    other = issuer.token(email="someone@example.com")
    conforms(client.http.get(email_path, headers=hdr(other)), GET, "get", 403)
    conforms(
        client.http.post(f"{email_path}/validate", headers=hdr(user), body=json.dumps(decision)), VALIDATE, "post", 403
    )

    # 404: unknown e-mail, unknown record to validate, wrong stage
    conforms(client.http.get(f"{BASE}/acme/email/{quote('nobody@example.com')}", headers=hdr(admin)), GET, "get", 404)
    conforms(
        client.http.post(
            f"{email_path}/validate", headers=hdr(admin), body=json.dumps(dict(decision, id_value="NOPE1"))
        ),
        VALIDATE,
        "post",
        404,
    )
    conforms(
        client.http.post(
            "/kyc/stage/prod/tenant/acme/documents", headers=hdr(user), body=json.dumps({"content_type": "image/png"})
        ),
        DOCUMENTS,
        "post",
        404,
    )

    # 413: a body over 64 KiB
    big = conforms(
        client.http.post(
            f"{BASE}/acme/create_or_update", headers=hdr(user), body=json.dumps(dict(payload, address="x" * 70_000))
        ),
        CREATE,
        "post",
        413,
    )
    assert big["error"]["code"] == "payload_too_large"

    # 415: Chalice refuses a Content-Type other than JSON before the route runs
    conforms(
        client.http.post(
            f"{BASE}/acme/documents", headers=hdr(user, "text/plain"), body=json.dumps({"content_type": "image/png"})
        ),
        DOCUMENTS,
        "post",
        415,
    )

    # the record was never touched by the refused requests
    after = conforms(client.http.get(email_path, headers=hdr(admin)), GET, "get", 200)
    assert after["records"][0]["validation_status"] == "verified"

    # erasure: a user, another tenant's admin may not; the admin erases; then 404
    conforms(client.http.delete(email_path, headers=hdr(user)), GET, "delete", 403)
    conforms(client.http.delete(email_path, headers=hdr(globex)), GET, "delete", 403)
    erased = conforms(client.http.delete(email_path, headers=hdr(admin)), GET, "delete", 200)
    assert erased["erased"]["records"] == 1 and erased["erased"]["documents"] >= 4
    conforms(client.http.delete(email_path, headers=hdr(admin)), GET, "delete", 404)
    conforms(client.http.get(email_path, headers=hdr(admin)), GET, "get", 404)


def test_conflict_and_internal_error_conform(client, issuer, monkeypatch, request):
    from chalicelib.storage import records

    user = issuer.token(email=USER)
    admin = issuer.token(email="boss@acme.test", admin=True)
    payload = submission(client, user)
    conforms(
        client.http.post(f"{BASE}/acme/create_or_update", headers=hdr(user), body=json.dumps(payload)),
        CREATE,
        "post",
        201,
    )
    request.getfixturevalue("stale_reads")
    decision = {"id_type": "Driving license", "id_value": "D1234-5678", "validation_status": "rejected", "reason": "no"}
    conforms(
        client.http.post(
            f"{BASE}/acme/email/{quote(USER, safe='')}/validate", headers=hdr(admin), body=json.dumps(decision)
        ),
        VALIDATE,
        "post",
        409,
    )

    def broken(self, *args):
        raise RuntimeError("storage down")

    monkeypatch.setattr(records.RecordStore, "list_for_email", broken)
    err = conforms(client.http.get(f"{BASE}/acme/email/{quote(USER, safe='')}", headers=hdr(admin)), GET, "get", 500)
    assert err["error"] == {"code": "internal_error", "message": "an internal error occurred", "details": []}


MOCK = "/mock/license-validator"


@pytest.mark.skipif(MOCK not in _spec()["paths"], reason="no mock validator route in the spec")
def test_mock_license_validator_conforms(client, env):
    answer = conforms(
        client.http.post(MOCK, headers=hdr(None), body=json.dumps({"validation_override": False})), MOCK, "post", 200
    )
    assert answer == {"valid": False}
    conforms(client.http.post(MOCK, headers=hdr(None), body=b"{not json"), MOCK, "post", 400)
    env.set(KYC_PRODUCTION="true")
    conforms(client.http.post(MOCK, headers=hdr(None), body=json.dumps({})), MOCK, "post", 404)
