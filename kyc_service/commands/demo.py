"""`python -m kyc_service demo`: one genuine and one impostor application against a
running local stack, printed as their statuses change until both are decided.

Images come only from installed packages (scikit-image's public-domain astronaut
photograph and an LFW thumbnail) and licences the project draws itself.
"""

from __future__ import annotations

import datetime
import json
import sys
import time
import uuid
from urllib.parse import quote

EXPECTED = {"genuine": "verified", "impostor": "rejected"}


class Api:
    def __init__(self, base: str, stage: str, tenant: str, token: str):
        import requests

        self.http = requests.Session()
        self.base, self.stage, self.tenant = base.rstrip("/"), stage, tenant
        self.http.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        return f"{self.base}/kyc/stage/{self.stage}/tenant/{self.tenant}{path}"

    def upload(self, kind: str, png: bytes) -> str:
        r = self.http.post(self.url("/documents"), json={"content_type": "image/png", "kind": kind}, timeout=30)
        r.raise_for_status()
        up = r.json()
        import requests

        s3 = requests.post(
            up["upload"]["url"],
            data=up["upload"]["fields"],
            files={"file": (f"{kind}.png", png, "image/png")},
            timeout=30,
        )
        s3.raise_for_status()
        return up["key"]

    def save(self, body: dict) -> dict:
        r = self.http.post(self.url("/create_or_update"), json=body, timeout=30)
        if r.status_code >= 400:
            raise RuntimeError(f"create_or_update failed: {r.status_code} {r.text}")
        return r.json()

    def records(self, email: str) -> list[dict]:
        r = self.http.get(self.url(f"/email/{quote(email, safe='')}"), timeout=30)
        r.raise_for_status()
        return r.json()["records"]


def application(kind: str, seed: int) -> tuple[dict, dict[str, bytes]]:
    """Details and images of one applicant. The impostor's selfie shows someone else."""
    from kyc_service.testdata import docgen, samples

    selfie, portrait = samples.genuine_pair()
    if kind == "impostor":
        selfie = samples.impostor_selfie()
    details = docgen.random_details(seed)
    today = datetime.date.today()
    born = datetime.date.fromisoformat(details["date_of_birth"])
    details["date_of_issue"] = datetime.date(today.year - 2, born.month, born.day).isoformat()
    details["expiration_date"] = datetime.date(today.year + 6, born.month, born.day).isoformat()  # in date
    front, back = docgen.make_licence(details, portrait=portrait, layout=seed % 4)
    body = {
        "first_name": details["first_name"],
        "middle_name": details["middle_name"],
        "last_name": details["last_name"],
        "date_of_birth": details["date_of_birth"],
        "id_type": "Driving license",
        "id_value": details["document_number"],
        "address": details["address"],
        "city": details["city"],
        "state": details["state"],
        "zip_code": details["zip_code"],
    }
    return body, {"id_front": front, "id_back": back, "selfie": selfie}


def run_demo(api_url: str, aws_port: int, stage: str, tenant: str, timeout: float, out=print) -> bool:
    from kyc_service.commands.token import issue_token

    run = uuid.uuid4().hex[:6]
    apps = {}
    for i, kind in enumerate(("genuine", "impostor")):
        email = f"{kind}-{run}@demo.example.com"
        api = Api(api_url, stage, tenant, issue_token(tenant, email, aws_port=aws_port, stage=stage))
        body, images = application(kind, seed=i + 7)
        links = [{"kind": k, "key": api.upload(k, png), "filename": f"{k}.png"} for k, png in images.items()]
        record = api.save(dict(body, email=email, document_links=links))
        out(f"{kind:9} {email}: submitted -> {record['validation_status']}")
        apps[kind] = (api, email, record["validation_status"])
    deadline = time.monotonic() + timeout
    final: dict[str, dict] = {}
    while len(final) < len(apps) and time.monotonic() < deadline:
        time.sleep(0.5)
        for kind, (api, email, last) in apps.items():
            if kind in final:
                continue
            record = api.records(email)[0]
            status = record["validation_status"]
            if status != last:
                out(f"{kind:9} {email}: {last} -> {status}")
                apps[kind] = (api, email, status)
            if status != "pending":
                final[kind] = record
    for kind, record in final.items():
        face = record["checks"].get("face_match", {})
        out(
            f"{kind:9} decided {record['validation_status']} (face similarity {face.get('similarity')}); "
            f"reasons: {json.dumps(record['reasons'])}"
        )
    ok = all(final.get(k, {}).get("validation_status") == v for k, v in EXPECTED.items())
    out(
        "demo OK: one verified, one rejected"
        if ok
        else f"demo FAILED: expected {EXPECTED}, got { {k: r.get('validation_status') for k, r in final.items()} }"
        + ("" if len(final) == len(apps) else " (timed out waiting for a decision)")
    )
    return ok


def _command(args) -> int:
    try:
        ok = run_demo(args.api_url, args.aws_port, args.stage, args.tenant, args.timeout)
    except Exception as exc:  # noqa: BLE001 - a stack that is not running, refused requests
        print(f"demo FAILED: {exc}", file=sys.stderr)
        return 2
    return 0 if ok else 1


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="submit a genuine and an impostor application to the running stack")
    p.add_argument("--api-url", default="http://127.0.0.1:8000")
    p.add_argument("--aws-port", type=int, default=5000)
    p.add_argument("--stage", default="local")
    p.add_argument("--tenant", default="demo")
    p.add_argument("--timeout", type=float, default=180)
    p.set_defaults(func=_command)
