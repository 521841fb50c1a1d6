"""`python -m kyc_service decide`: replay a decision offline from recorded provider responses.

    python -m kyc_service decide --details DETAILS.json --analyze-id RESPONSE.json
        [--compare-faces RESPONSE.json --detect-faces RESPONSE.json] [--today YYYY-MM-DD]

The recorded responses (Textract AnalyzeID; Rekognition DetectFaces and CompareFaces of the
selfie, as AWS returns them) are answered by stand-ins for the boto3 clients, behind the AWS
adapter itself (`chalicelib.providers.aws.AwsProvider`), and the decision is made by
`chalicelib.handlers.verifier.evaluate_submission`: exactly the code the stream verifier runs, with the
stage's thresholds (KYC_VERIFY_THRESHOLD, KYC_REVIEW_THRESHOLD, KYC_CLEAR_CONFIDENCE from the
environment). Prints `{"validation_status", "reasons", "checks"}`, `checks.rules` naming the
rules applied as the verifier records them (a tenant without settings of its own). Without face responses the
decision rests on the document alone and `checks` has no `face_match`.

Bad or missing files, or an unusable setting: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2
RECORDED = "recorded"  # the bucket name of the stand-in images: nothing is fetched


class ReplayError(Exception):
    """Input the replay cannot use; its message is the one line the operator sees."""


def register(sub) -> None:
    p = sub.add_parser(
        "decide",
        help="replay a decision offline from recorded AWS responses",
        description="Replays a decision from recorded Textract AnalyzeID and Rekognition "
        "DetectFaces/CompareFaces responses with the verifier's own code and the "
        "stage's thresholds (environment), and prints validation_status, reasons "
        "and checks as JSON.",
    )
    p.add_argument(
        "--details",
        required=True,
        metavar="DETAILS.json",
        help="create_or_update fields: first_name, middle_name, last_name, date_of_birth, id_type, id_value",
    )
    p.add_argument("--analyze-id", required=True, metavar="RESPONSE.json", help="a Textract AnalyzeID response")
    p.add_argument(
        "--compare-faces",
        metavar="RESPONSE.json",
        help="a Rekognition CompareFaces response (selfie against the ID front)",
    )
    p.add_argument("--detect-faces", metavar="RESPONSE.json", help="a Rekognition DetectFaces response of the selfie")
    p.add_argument("--today", metavar="YYYY-MM-DD", help="the date expiry is judged against (default: today, UTC)")
    p.set_defaults(func=decide_command)


# --- input -------------------------------------------------------------------------------------


def _load_object(path: str, what: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReplayError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise ReplayError(f"{what} file is a directory: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayError(f"{what} file cannot be read: {path} ({type(exc).__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReplayError(f"{what} file is not valid JSON: {path} (line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise ReplayError(f"{what} file must hold a JSON object: {path}")
    return data


def _shape_problem(response: dict[str, Any], service: str, operation: str) -> str | None:
    """The first way `response` departs from the service model's output shape, or None.
    Values are never quoted (they may be personal data)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model(service)
    report = ParamValidator().validate(response, model.operation_model(operation).output_shape)
    if not report.has_errors():
        return None
    first = report.generate_report().splitlines()[0]
    return re.sub(r",? value: .*", "", first)


# What a self-hosted reader adds to an AnalyzeID-shaped response (providers/__init__.py).
SELF_HOSTED_EXTRAS = ("KycConsistency", "KycClaim")


def _response(path: str, service: str, operation: str, what: str) -> dict[str, Any]:
    data = _load_object(path, what)
    data = {key: value for key, value in data.items() if key != "ResponseMetadata"}
    aws_part = {key: value for key, value in data.items() if key not in SELF_HOSTED_EXTRAS}
    problem = _shape_problem(aws_part, service, operation)
    if problem:
        raise ReplayError(f"{what} file does not hold a {operation} response: {path} ({problem})")
    return data


def _details(path: str) -> dict[str, str]:
    from chalicelib.config import ID_TYPES
    from chalicelib.domain.dates import parse_submitted_date
    from chalicelib.handlers.verifier import SUBMITTED_FIELDS

    data = _load_object(path, "details")
    details: dict[str, str] = {}
    for name in SUBMITTED_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ReplayError(f"details file: {name} must be a string: {path}")
        details[name] = value
    if not details:
        raise ReplayError(f"details file holds none of {', '.join(SUBMITTED_FIELDS)}: {path}")
    if "id_type" in details and details["id_type"] not in ID_TYPES:
        raise ReplayError(f"details file: id_type must be one of {', '.join(ID_TYPES)}: {path}")
    if details.get("date_of_birth") and parse_submitted_date(details["date_of_birth"]) is None:
        raise ReplayError(f"details file: date_of_birth must be a date as YYYY-MM-DD: {path}")
    return details


def _today(text: str | None):
    import datetime as dt

    from chalicelib.handlers.verifier import utc_today

    if text is None:
        return utc_today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ReplayError(f"--today must be a date as YYYY-MM-DD, not {text!r}") from None


# --- the recorded services -----------------------------------------------------------------------


class RecordedClient:
    """Stands in for a boto3 client: each operation answers with its recorded response.
    The request the adapter builds is accepted as it is (it names stand-in images)."""

    def __init__(self, answers: dict[str, dict[str, Any] | None], missing: dict[str, str]):
        self._answers = answers
        self._missing = missing  # operation -> what to say when it is called without a response

    def _answer(self, operation: str) -> dict[str, Any]:
        answer = self._answers.get(operation)
        if answer is None:
            raise ReplayError(self._missing.get(operation, f"no recorded {operation} response"))
        return answer

    def detect_faces(self, **_request: Any) -> dict[str, Any]:
        return self._answer("detect_faces")

    def compare_faces(self, **_request: Any) -> dict[str, Any]:
        return self._answer("compare_faces")

    def analyze_id(self, **_request: Any) -> dict[str, Any]:
        return self._answer("analyze_id")


def replay(
    details: dict[str, str],
    analyze_id: dict[str, Any],
    detect_faces: dict[str, Any] | None = None,
    compare_faces: dict[str, Any] | None = None,
    *,
    today,
) -> dict[str, Any]:
    """The decision the verifier makes on these responses, as `decide` prints it."""
    from chalicelib.domain.tenant_rules import TenantRules
    from chalicelib.handlers.verifier import evaluate_submission
    from chalicelib.providers.aws import AwsProvider
    from chalicelib.providers.port import ImageRef
    from chalicelib.storage.tenants import stage_policy

    rekognition = RecordedClient(
        {"detect_faces": detect_faces, "compare_faces": compare_faces},
        {
            "compare_faces": "the DetectFaces response shows one face in the selfie, so the "
            "verifier compares faces: give --compare-faces too"
        },
    )
    textract = RecordedClient({"analyze_id": analyze_id}, {})
    provider = AwsProvider(rekognition=rekognition, textract=textract)
    with_faces = detect_faces is not None
    rules = TenantRules.of(stage_policy(), {})  # the stage's rules: a tenant that set none of its own
    decision = evaluate_submission(
        details,
        provider,
        ImageRef(RECORDED, "id_front"),
        None,
        ImageRef(RECORDED, "selfie") if with_faces else None,
        today=today,
        rules=rules.rules,
    )
    return {
        "validation_status": decision.status,
        "reasons": decision.reasons,
        "checks": {**decision.checks, "rules": rules.as_check()},
    }


def _settings_problem() -> str | None:
    from chalicelib.config import settings

    try:
        s = settings()
    except ValueError:
        return "a stage setting is not a number (KYC_VERIFY_THRESHOLD, KYC_REVIEW_THRESHOLD, KYC_CLEAR_CONFIDENCE)"
    if s.review_threshold > s.verify_threshold:
        return "KYC_REVIEW_THRESHOLD must not exceed KYC_VERIFY_THRESHOLD"
    return None


def decide_command(args: argparse.Namespace) -> int:
    try:
        problem = _settings_problem()
        if problem:
            raise ReplayError(problem)
        if args.compare_faces and not args.detect_faces:
            raise ReplayError("--compare-faces needs --detect-faces (the selfie's faces)")
        today = _today(args.today)
        details = _details(args.details)
        analyze_id = _response(args.analyze_id, "textract", "AnalyzeID", "--analyze-id")
        detect = (
            _response(args.detect_faces, "rekognition", "DetectFaces", "--detect-faces") if args.detect_faces else None
        )
        compare = (
            _response(args.compare_faces, "rekognition", "CompareFaces", "--compare-faces")
            if args.compare_faces
            else None
        )
        result = replay(details, analyze_id, detect, compare, today=today)
    except ReplayError as exc:
        print(f"decide: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0
