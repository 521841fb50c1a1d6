"""The REST API of CONTRACT.md §1 through chalice.test.Client on moto."""

from __future__ import annotations

import base64
import json
from typing import ClassVar
from urllib.parse import quote

import boto3
import jwt
import pytest

from tests.conftest import ISSUER, STAGE

BUCKET = f"{STAGE}-kyc-documents"
BASE = f"/kyc/stage/{STAGE}/tenant"
USER = "ashish.p@example.com"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def hdr(token: str | None) -> dict:
    h = {"Content-Type": "application/json"}
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    return h


def upload(
    tenant: str = "acme", kind: str = "selfie", content_type: str = "image/png", body: bytes = PNG, email: str = USER
) -> str:
    from chalicelib.keys import uploads_prefix

    key = f"{uploads_prefix(tenant, email)}{kind}/{kind}-{content_type.replace('/', '-')}.png"
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=content_type)
    return key


def body(tenant: str = "acme", email: str = USER, **over) -> dict:
    b = {
        "email": email,
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
            {"kind": "id_front", "key": upload(tenant, "id_front"), "filename": "front.png"},
            {"kind": "selfie", "key": upload(tenant, "selfie"), "filename": "me.png"},
        ],
    }
    b.update(over)
    return b


def post(client, token, payload, tenant="acme", stage=STAGE, method="post"):
    raw = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return getattr(client.http, method)(
        f"/kyc/stage/{stage}/tenant/{tenant}/create_or_update", headers=hdr(token), body=raw
    )


def get(client, token, email=USER, tenant="acme"):
    return client.http.get(f"{BASE}/{tenant}/email/{quote(email, safe='')}", headers=hdr(token))


def validate(client, token, payload, email=USER, tenant="acme"):
    return client.http.post(
        f"{BASE}/{tenant}/email/{quote(email, safe='')}/validate", headers=hdr(token), body=json.dumps(payload)
    )


def stored_items() -> list:
    return boto3.client("dynamodb", region_name="us-east-1").scan(TableName=f"{STAGE}_kyc_service")["Items"]


def assert_error(resp, status, code=None):
    assert resp.status_code == status, resp.body
    err = resp.json_body["error"]
    assert set(err) == {"code", "message", "details"}
    if code:
        assert err["code"] == code


# -- success paths --------------------------------------------------------------


def test_create_get_and_idempotent_save(client, issuer):
    token = issuer.token(email=USER)
    payload = body()
    r = post(client, token, payload)
    assert r.status_code == 201, r.body
    rec = r.json_body
    assert rec["validation_status"] == "pending" and rec["verify"] is True
    assert rec["tenant"] == "acme" and rec["email"] == USER and rec["id_type"] == "Driving license"
    assert rec["created_time"] == rec["last_updated_time"] and rec["checks"] == {} and rec["reasons"] == []
    assert [link["kind"] for link in rec["document_links"]] == ["id_front", "selfie"]

    again = post(client, token, payload, method="put")
    assert again.status_code == 200
    assert again.json_body["submission_id"] == rec["submission_id"]
    assert len(stored_items()) == 1

    g = get(client, token)
    assert g.status_code == 200 and len(g.json_body["records"]) == 1
    assert g.json_body["records"][0]["submission_id"] == rec["submission_id"]


def test_real_change_makes_new_submission(client, issuer):
    token = issuer.token(email=USER)
    payload = body()
    first = post(client, token, payload).json_body
    payload["address"] = "9 Other Road"
    second = post(client, token, payload)
    assert second.status_code == 200
    assert second.json_body["submission_id"] != first["submission_id"]
    assert second.json_body["validation_status"] == "pending" and second.json_body["verify"] is True
    item = stored_items()[0]
    assert int(item["version"]["N"]) == 2


def test_email_case_is_one_record(client, issuer):
    token = issuer.token(email=USER)
    assert post(client, token, body(email=USER.upper())).status_code == 201
    assert get(client, token, email=USER.upper()).status_code == 200


def test_cognito_flags_read_from_user_pool(client, issuer):
    import os

    cognito = boto3.client("cognito-idp", region_name="us-east-1")
    cognito.admin_create_user(
        UserPoolId=os.environ["KYC_USER_POOL_ID"],
        Username=USER,
        UserAttributes=[
            {"Name": "email", "Value": USER},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "phone_number", "Value": "+15555550100"},
            {"Name": "phone_number_verified", "Value": "false"},
        ],
    )
    rec = post(client, issuer.token(email=USER), body()).json_body
    assert rec["email_verified"] is True and rec["phone_verified"] is False


def test_unknown_cognito_user_gives_null_flags(client, issuer):
    rec = post(client, issuer.token(email=USER), body()).json_body
    assert rec["email_verified"] is None and rec["phone_verified"] is None


def test_get_unknown_email_is_404(client, issuer):
    assert_error(get(client, issuer.token(email=USER)), 404, "not_found")


def test_wrong_stage_is_404(client, issuer):
    assert_error(post(client, issuer.token(email=USER), body(), stage="prod"), 404)
    assert stored_items() == []


def test_admin_validate(client, issuer):
    post(client, issuer.token(email=USER), body())
    admin = issuer.token(email="boss@acme.test", admin=True)
    r = validate(
        client,
        admin,
        {
            "id_type": "Driving license",
            "id_value": "D1234-5678",
            "verification_status": "verified",
            "reason": "checked by hand",
        },
    )
    assert r.status_code == 200, r.body
    rec = r.json_body
    assert rec["validation_status"] == "verified" and rec["verify"] is False
    assert rec["reasons"] == ["checked by hand"]
    sub = jwt.decode(admin, options={"verify_signature": False})["sub"]
    assert rec["decided_by"] == f"admin:{sub}"
    # validation_status is accepted for verification_status
    r = validate(
        client,
        admin,
        {
            "id_type": "Driving license",
            "id_value": "D1234-5678",
            "validation_status": "rejected",
            "reason": "fake",
            "tenant": "acme",
        },
    )
    assert r.status_code == 200 and r.json_body["validation_status"] == "rejected"


def test_validate_unknown_record_404_and_user_403(client, issuer):
    admin = issuer.token(email="boss@acme.test", admin=True)
    decision = {"id_type": "Passport", "id_value": "X1", "verification_status": "verified", "reason": "ok"}
    assert_error(validate(client, admin, decision), 404)
    post(client, issuer.token(email=USER), body())
    assert_error(validate(client, issuer.token(email=USER), decision), 403)


@pytest.mark.parametrize(
    "payload",
    [
        {"id_type": "Driving license", "id_value": "D1234-5678", "verification_status": "maybe", "reason": "x"},
        {"id_type": "Driving license", "id_value": "D1234-5678", "verification_status": "verified"},
        {
            "id_type": "Driving license",
            "id_value": "D1234-5678",
            "verification_status": "verified",
            "reason": "x",
            "tenant": "other",
        },
        {
            "id_type": "Driving license",
            "id_value": "D1234-5678",
            "verification_status": "verified",
            "reason": "x",
            "email": "someone@else.com",
        },
        {
            "id_type": "Driving license",
            "id_value": "D1234-5678",
            "verification_status": "verified",
            "reason": "x",
            "checks": {},
        },
    ],
)
def test_validate_bad_bodies(client, issuer, payload):
    post(client, issuer.token(email=USER), body())
    assert_error(validate(client, issuer.token(email="boss@acme.test", admin=True), payload), 400)
    assert stored_items()[0]["validation_status"]["S"] == "pending"


def test_validate_conflict_is_409(client, issuer, request):
    post(client, issuer.token(email=USER), body())
    request.getfixturevalue("stale_reads")
    r = validate(
        client,
        issuer.token(email="boss@acme.test", admin=True),
        {"id_type": "Driving license", "id_value": "D1234-5678", "verification_status": "verified", "reason": "ok"},
    )
    assert_error(r, 409, "conflict")


def test_documents_presigned_post(client, issuer):
    r = client.http.post(
        f"{BASE}/acme/documents",
        headers=hdr(issuer.token(email=USER)),
        body=json.dumps({"content_type": "image/png", "kind": "selfie"}),
    )
    assert r.status_code == 201, r.body
    up = r.json_body
    from chalicelib.keys import uploads_prefix

    assert up["key"].startswith(uploads_prefix("acme", USER)) and up["key"].endswith(".png")
    policy = json.loads(base64.b64decode(up["upload"]["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, up["max_bytes"]] in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert up["upload"]["fields"]["key"] == up["key"]


@pytest.mark.parametrize(
    "payload",
    [
        {"content_type": "application/pdf"},
        {"content_type": "text/html"},
        {},
        {"content_type": "image/png", "kind": "passport_scan"},
        {"content_type": "image/png", "tenant": "other"},
        {"content_type": "image/png", "bucket": "x"},
    ],
)
def test_documents_bad_requests(client, issuer, payload):
    r = client.http.post(f"{BASE}/acme/documents", headers=hdr(issuer.token(email=USER)), body=json.dumps(payload))
    assert_error(r, 400)


# -- validation -----------------------------------------------------------------

BAD_FIELDS = [
    ("email", "not-an-email"),
    ("email", "a#b@example.com"),
    ("email", None),
    ("date_of_birth", "20/04/1990"),
    ("date_of_birth", "2990-01-01"),
    ("date_of_birth", "1990-02-30"),
    ("date_of_birth", "1850-01-01"),
    ("date_of_birth", "2024-01-01"),
    ("id_type", "Library card"),
    ("id_value", "D12#34"),
    ("id_value", ""),
    ("id_value", "x" * 65),
    ("first_name", "A" * 101),
    ("first_name", None),
    ("first_name", 42),
    ("last_name", "bad\x00name"),
    ("zip_code", "!!"),
    ("phone_number", "call me"),
    ("document_links", "nope"),
    ("document_links", [{"kind": "tattoo", "key": "tenants/acme/x.png"}]),
    ("document_links", [{"kind": "selfie", "key": "tenants/acme/a.png"}] * 6),
    ("document_links", [{"kind": "selfie"}]),
    ("document_links", [{"kind": "selfie", "key": "tenants/acme/a.png", "url": "s3://x/y"}]),
    ("document_links", [{"kind": "selfie", "key": "tenants/acme/missing.png"}]),
    ("document_links", [{"kind": "selfie", "key": "tenants/acme/a.png", "size": 1}]),
    ("tenant", "other"),
    ("stage", "prod"),
    ("favourite_colour", "blue"),
]


@pytest.mark.parametrize("field,value", BAD_FIELDS)
def test_bad_input_is_400_and_stores_nothing(client, issuer, field, value):
    payload = body()
    payload[field] = value
    assert_error(post(client, issuer.token(email=USER, admin=True), payload), 400, "invalid_input")
    assert stored_items() == []


def test_uploaded_object_must_be_an_image_within_cap(client, issuer):
    key = upload(kind="selfie", content_type="text/html")
    payload = body()
    payload["document_links"][1]["key"] = key
    assert_error(post(client, issuer.token(email=USER), payload), 400)
    assert stored_items() == []


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b"null", b""])
def test_malformed_json_is_400(client, issuer, raw):
    assert_error(post(client, issuer.token(email=USER), raw), 400)


def test_oversized_body_is_413(client, issuer):
    payload = body(address="x" * 70_000)
    assert_error(post(client, issuer.token(email=USER), payload), 413, "payload_too_large")
    assert stored_items() == []


@pytest.mark.parametrize(
    "field,value",
    [
        ("validation_status", "verified"),
        ("verify", False),
        ("checks", {"face_match": {"passed": True}}),
        ("reasons", []),
        ("decided_by", "admin:me"),
        ("created_time", 1),
        ("last_updated_time", 1),
        ("decided_time", 1),
        ("email_verified", True),
        ("version", 9),
        ("submission_id", "x"),
    ],
)
def test_mass_assignment_refused(client, issuer, field, value):
    payload = body()
    payload[field] = value
    r = post(client, issuer.token(email=USER, admin=True), payload)
    assert_error(r, 400)
    assert field in r.json_body["error"]["message"]
    assert stored_items() == []


HOSTILE_LINKS = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "file:///etc/passwd",
    f"https://{BUCKET}.s3.amazonaws.com/tenants/other/uploads/selfie/x.png",  # another tenant
    "https://evil-bucket.s3.amazonaws.com/tenants/acme/x.png",  # another bucket
    f"https://{BUCKET}.s3.amazonaws.com.evil.com/tenants/acme/x.png",  # look-alike host
    f"https://{BUCKET}.s3.amazonaws.com@evil.com/tenants/acme/x.png",  # userinfo trick
    f"http://{BUCKET}.s3.amazonaws.com/tenants/acme/x.png",  # not TLS
    f"https://{BUCKET}.s3.amazonaws.com:8443/tenants/acme/x.png",  # other port
    f"https://{BUCKET}.s3.amazonaws.com/tenants/acme/../other/x.png",  # traversal
    f"https://{BUCKET}.s3.amazonaws.com/tenants/acme/%2e%2e/other/x.png",  # encoded traversal
    "https://s3.amazonaws.com/evil-bucket/tenants/acme/x.png",
    "gopher://localhost:6379/_x",
    "//evil.com/tenants/acme/x.png",
    "tenants/acme/x.png",
]


@pytest.mark.parametrize("url", HOSTILE_LINKS)
def test_hostile_links_refused(client, issuer, url):
    payload = body()
    payload["document_links"] = [{"kind": "selfie", "url": url}]
    assert_error(post(client, issuer.token(email=USER), payload), 400)
    assert stored_items() == []


@pytest.mark.parametrize(
    "key",
    [
        "tenants/other/uploads/x.png",
        "tenants/acme",
        "tenants/acme/",
        "tenants/acme/../other/x.png",
        "/tenants/acme/x.png",
        "tenants/acmeX/x.png",
    ],
)
def test_foreign_keys_refused(client, issuer, key):
    payload = body()
    payload["document_links"] = [{"kind": "selfie", "key": key}]
    assert_error(post(client, issuer.token(email=USER), payload), 400)
    assert stored_items() == []


def test_url_into_own_prefix_is_accepted_and_stored_as_key(client, issuer):
    key = upload(kind="selfie")
    payload = body()
    payload["document_links"] = [
        {"kind": "selfie", "url": f"https://{BUCKET}.s3.amazonaws.com/{key}"},
        {"kind": "id_front", "url": f"s3://{BUCKET}/{upload(kind='id_front')}"},
    ]
    r = post(client, issuer.token(email=USER), payload)
    assert r.status_code == 201, r.body
    assert r.json_body["document_links"][0]["key"] == key


# -- tokens and isolation ---------------------------------------------------------


def _none_token() -> str:
    head = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
    claims = {
        "iss": ISSUER,
        "sub": "x",
        "custom:tenant": "acme",
        "email": USER,
        "cognito:groups": ["kyc-admin"],
        "exp": 9999999999,
        "iat": 1,
        "token_use": "id",
    }
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    return (head + b"." + payload + b".").decode()


CALLERS = {
    "user_a_own": lambda i, o: i.token(tenant="acme", email=USER),
    "user_a_other": lambda i, o: i.token(tenant="acme", email="someone@example.com"),
    "admin_a": lambda i, o: i.token(tenant="acme", email="boss@acme.test", admin=True),
    "user_b": lambda i, o: i.token(tenant="globex", email=USER),
    "admin_b": lambda i, o: i.token(tenant="globex", email="boss@globex.test", admin=True),
    "no_token": lambda i, o: None,
    "expired": lambda i, o: i.token(tenant="acme", email=USER, admin=True, expires_in=-3600),
    "other_key": lambda i, o: o.token(tenant="acme", email=USER, admin=True),
    "alg_none": lambda i, o: _none_token(),
    "malformed": lambda i, o: "not.a.jwt",
    "wrong_issuer": lambda i, o: i.token(tenant="acme", email=USER, admin=True, iss="https://evil.example"),
    "no_tenant": lambda i, o: i.token(tenant=None, email=USER, admin=True),
}
#                     create  get   validate documents
EXPECTED = {
    "user_a_own": (200, 200, 403, 201),
    "user_a_other": (403, 403, 403, 201),
    "admin_a": (200, 200, 200, 201),
    "user_b": (403, 403, 403, 403),
    "admin_b": (403, 403, 403, 403),
    "no_token": (401, 401, 401, 401),
    "expired": (401, 401, 401, 401),
    "other_key": (401, 401, 401, 401),
    "alg_none": (401, 401, 401, 401),
    "malformed": (401, 401, 401, 401),
    "wrong_issuer": (401, 401, 401, 401),
    "no_tenant": (401, 401, 401, 401),
}


@pytest.mark.parametrize("who", sorted(CALLERS))
def test_isolation_matrix(client, issuer, other_issuer, who):
    owner = issuer.token(tenant="acme", email=USER)
    payload = body()
    assert post(client, owner, payload).status_code == 201
    token = CALLERS[who](issuer, other_issuer)
    responses = [
        post(client, token, payload),
        get(client, token),
        validate(
            client,
            token,
            {"id_type": "Driving license", "id_value": "D1234-5678", "verification_status": "verified", "reason": "ok"},
        ),
        client.http.post(f"{BASE}/acme/documents", headers=hdr(token), body=json.dumps({"content_type": "image/png"})),
    ]
    assert tuple(r.status_code for r in responses) == EXPECTED[who]
    for r in responses:
        if r.status_code >= 400:
            text = r.body.decode() if isinstance(r.body, bytes) else str(r.body)
            assert "Palankar" not in text and "D1234" not in text and "1990-04-20" not in text
            assert "error" in json.loads(text)
    if EXPECTED[who][2] != 200:
        assert stored_items()[0]["validation_status"]["S"] == "pending"


def test_routes_check_tenant_even_if_authorizer_allows(aws_env, issuer):
    """Object-level checks: a caller of another tenant is refused by the route itself."""
    from chalicelib.errors import Forbidden
    from chalicelib.http import api

    class Req:
        context: ClassVar[dict] = {"authorizer": {"tenant": "globex", "email": USER, "sub": "s", "admin": "true"}}
        raw_body = json.dumps(body()).encode()

    with pytest.raises(Forbidden):
        api.create_or_update.__wrapped__(Req, STAGE, "acme") if hasattr(
            api.create_or_update, "__wrapped__"
        ) else api.create_or_update(Req, STAGE, "acme")
    with pytest.raises(Forbidden):
        api.get_records(Req, STAGE, "acme", quote(USER))
    Req.context = {"authorizer": {"tenant": "acme", "email": "x@example.com", "sub": "s", "admin": "false"}}
    with pytest.raises(Forbidden):
        api.get_records(Req, STAGE, "acme", quote(USER))
    assert stored_items() == []


# -- hostile encodings never become a 5xx ---------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"email": "a@example.com", "first_name": ' + b"9" * 5000 + b"}",  # int beyond Python's digit limit
        b'{"a": ' + b"[" * 30000 + b"]" * 30000 + b"}",  # nesting beyond the recursion limit
        b'{"email": "a@example.com", "first_name": "Ash\\ud800ish"}',  # lone surrogate
    ],
)
def test_hostile_json_is_400(client, issuer, raw):
    assert_error(post(client, issuer.token(email=USER), raw), 400, "invalid_input")
    assert stored_items() == []


def test_lone_surrogate_in_validate_reason_is_400(client, issuer):
    post(client, issuer.token(email=USER), body())
    r = client.http.post(
        f"{BASE}/acme/email/{quote(USER, safe='')}/validate",
        headers=hdr(issuer.token(email="boss@acme.test", admin=True)),
        body=b'{"id_type": "Driving license", "id_value": "D1234-5678", '
        b'"verification_status": "verified", "reason": "bad \\ud800"}',
    )
    assert_error(r, 400)
    assert stored_items()[0]["validation_status"]["S"] == "pending"


@pytest.mark.parametrize(
    "payload",
    [{"content_type": ["image/png"]}, {"content_type": {"a": 1}}, {"content_type": "image/png", "kind": ["selfie"]}],
)
def test_documents_wrong_types_are_400(client, issuer, payload):
    r = client.http.post(f"{BASE}/acme/documents", headers=hdr(issuer.token(email=USER)), body=json.dumps(payload))
    assert_error(r, 400)


def test_tenant_with_trailing_newline_is_refused():
    from chalicelib.errors import InvalidInput
    from chalicelib.http.validation import check_tenant

    with pytest.raises(InvalidInput):
        check_tenant("acme\n")


# -- a user's records link only that user's uploads -------------------------------------


def test_user_cannot_link_another_customers_documents(client, issuer):
    payload = body()
    payload["document_links"][1]["key"] = upload(kind="selfie", email="someone.else@example.com")
    r = post(client, issuer.token(email=USER), payload)
    assert_error(r, 400)
    assert r.json_body["error"]["details"][0]["problem"] == "not_own_upload"
    payload["document_links"][1]["key"] = "tenants/acme/bundles/1234/selfie.png"  # a bundle's copy
    assert_error(post(client, issuer.token(email=USER), payload), 400)
    assert stored_items() == []


def test_admin_may_link_any_document_of_the_tenant(client, issuer):
    payload = body()
    payload["document_links"][1]["key"] = upload(kind="selfie", email="someone.else@example.com")
    assert post(client, issuer.token(email="boss@acme.test", admin=True), payload).status_code == 201


def test_documents_route_uploads_for_own_email_or_admins_customer(client, issuer):
    from chalicelib.keys import uploads_prefix

    user = issuer.token(email=USER)
    r = client.http.post(
        f"{BASE}/acme/documents",
        headers=hdr(user),
        body=json.dumps({"content_type": "image/png", "email": "someone.else@example.com"}),
    )
    assert_error(r, 403)
    admin = issuer.token(email="boss@acme.test", admin=True)
    r = client.http.post(
        f"{BASE}/acme/documents",
        headers=hdr(admin),
        body=json.dumps({"content_type": "image/png", "email": "Customer@Example.com"}),
    )
    assert r.status_code == 201 and r.json_body["key"].startswith(uploads_prefix("acme", "customer@example.com"))


def test_new_image_under_the_same_key_is_a_new_submission(client, issuer):
    """A re-used presigned upload replaces the image under the same key: saving again
    is new content (verified again), not 'nothing changed'."""
    token = issuer.token(email=USER)
    payload = body()
    first = post(client, token, payload).json_body
    assert post(client, token, payload).json_body["submission_id"] == first["submission_id"]
    upload(kind="selfie", body=PNG + b"other pixels")
    second = post(client, token, payload)
    assert second.status_code == 200 and second.json_body["submission_id"] != first["submission_id"]
    assert second.json_body["validation_status"] == "pending" and second.json_body["verify"] is True
