"""`python -m kyc_service decide` (CONTRACT.md §4): replaying a decision from recorded provider
responses with the verifier's own code; and the same responses through the stream verifier (the
app's real handler on moto, the AWS adapter answered by botocore's Stubber) giving the same
status, reasons and checks."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import subprocess
import sys
from pathlib import Path

import boto3
from botocore.stub import Stubber

from kyc_service.cli import main
from tests import recorded
from tests.conftest import ROOT, fixtures_dir

TENANT = "acme"
ANALYZE_ID = "aws/analyze-id"
REKOGNITION = "aws/rekognition"
SOUZA = {
    "first_name": "Jorge",
    "middle_name": "",
    "last_name": "Souza",
    "date_of_birth": "1978-03-18",
    "id_type": "Driving license",
    "id_value": "820BAC729CBAC",
}


def _path(relative: str) -> str:
    folder, _, name = relative.rpartition("/")
    return str(fixtures_dir(folder) / name)


def _details_file(tmp_path: Path, details: dict, name: str = "details.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(details))
    return str(path)


def _run(*argv: str) -> tuple[int, dict | None, str]:
    """The command's exit status, its stdout as JSON, its stderr. Output is caught around the
    command alone (not with capsys, whose stream the stack's logger would keep after the test)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["decide", *argv])
    return code, (json.loads(out.getvalue()) if out.getvalue().strip() else None), err.getvalue()


def _decide_args(
    details: str, analyze_id: str, detect: str | None = None, compare: str | None = None, today: str | None = None
) -> list[str]:
    args = ["--details", details, "--analyze-id", analyze_id]
    if detect:
        args += ["--detect-faces", detect]
    if compare:
        args += ["--compare-faces", compare]
    if today:
        args += ["--today", today]
    return args


# --- the command ----------------------------------------------------------------------------


def test_decide_prints_status_reasons_and_checks_without_face_responses(tmp_path):
    code, result, err = _run(
        *_decide_args(_details_file(tmp_path, SOUZA), _path(f"{ANALYZE_ID}/trp-two-documents.json"), today="2020-01-19")
    )
    assert (code, err) == (0, "")
    assert set(result) == {"validation_status", "reasons", "checks"}
    assert result["validation_status"] == "verified" and result["reasons"] == []
    assert set(result["checks"]) == {"details_match", "rules"}  # rules: the stage's, as the verifier records them
    assert result["checks"]["rules"]["verify_threshold"] == 95 and result["checks"]["rules"]["tenant_set"] == []
    fields = result["checks"]["details_match"]["fields"]
    assert fields["DOCUMENT_NUMBER"] == {
        "submitted": "820BAC729CBAC",
        "document": "820BAC729CBAC",
        "passed": True,
        "outcome": "match",
        "confidence": 96.1,
    }


def test_decide_with_face_responses_runs_the_adapters_face_logic(tmp_path):
    code, result, _ = _run(
        *_decide_args(
            _details_file(tmp_path, SOUZA),
            _path(f"{ANALYZE_ID}/trp-two-documents.json"),
            _path(f"{REKOGNITION}/rekdg_detect_faces_response.json"),
            _path(f"{REKOGNITION}/rekdg_compare_faces_response.json"),
            today="2020-01-19",
        )
    )
    assert code == 0 and result["validation_status"] == "verified"
    assert result["checks"]["face_match"] == {
        "passed": True,
        "similarity": 100.0,
        "source_face_count": 1,
        "target_face_count": 2,
    }


def test_decide_judges_expiry_on_the_given_day(tmp_path):
    args = [_details_file(tmp_path, SOUZA), _path(f"{ANALYZE_ID}/trp-two-documents.json")]
    _, on_the_day, _ = _run(*_decide_args(*args, today="2020-01-20"))
    _, day_after, _ = _run(*_decide_args(*args, today="2020-01-21"))
    assert on_the_day["validation_status"] == "verified"
    assert day_after["validation_status"] == "rejected"
    assert day_after["reasons"] == ["the document expired on 2020-01-20"]


def test_decide_takes_thresholds_from_the_stage_settings(tmp_path, monkeypatch):
    label = recorded.licence_labels()["alabama"]
    args = _decide_args(
        _details_file(tmp_path, {**recorded.holder(label), "last_name": "Harrington"}),
        _path(f"{recorded.LICENCES}/alabama.json"),
        _path(f"{REKOGNITION}/awscli_detect_faces_output.json"),
        _path(f"{REKOGNITION}/awscli_compare_faces_output.json"),
        today="2014-01-04",
    )
    _, default, _ = _run(*args)
    assert default["validation_status"] == "rejected"
    assert default["reasons"] == ["last name differs from the document"]
    monkeypatch.setenv("KYC_CLEAR_CONFIDENCE", "99.7")  # the last name was read at 99.6
    monkeypatch.setenv("KYC_VERIFY_THRESHOLD", "100.5")
    monkeypatch.setenv("KYC_REVIEW_THRESHOLD", "90")
    from chalicelib import config

    config.reset()  # settings are parsed once per process; a new `decide` run reads them anew
    _, tried, _ = _run(*args)
    assert tried["validation_status"] == "needs_review"
    assert tried["reasons"] == [
        "the selfie resembles the ID photo but not closely enough to verify (similarity 100.0) (review)",
        "last name differs from the document's reading, which is not clear enough to decide on (review)",
    ]


def test_decide_without_compare_faces_when_the_selfie_has_two_faces(tmp_path):
    detail = json.loads(Path(_path(f"{REKOGNITION}/riv_detect_faces_lambda_output.json")).read_text())
    two = tmp_path / "two-faces.json"
    two.write_text(json.dumps({"FaceDetails": [detail["FaceDetail"]] * 2}))
    code, result, _ = _run(
        *_decide_args(
            _details_file(tmp_path, SOUZA), _path(f"{ANALYZE_ID}/trp-two-documents.json"), str(two), today="2020-01-19"
        )
    )
    assert code == 0 and result["validation_status"] == "rejected"
    assert result["reasons"] == ["the selfie shows 2 faces; exactly one is required"]


def _one_line_error(args: list[str], words: str) -> None:
    code, out, err = _run(*args)
    assert code == 2 and out is None
    assert err.count("\n") == 1 and err.startswith("decide: ") and words in err, err


def test_bad_or_missing_files_give_one_line_and_status_2(tmp_path):
    details = _details_file(tmp_path, SOUZA)
    response = _path(f"{ANALYZE_ID}/trp-two-documents.json")
    detect = _path(f"{REKOGNITION}/awscli_detect_faces_output.json")
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    broken, listed = str(tmp_path / "broken.json"), str(tmp_path / "list.json")
    _one_line_error(_decide_args(str(tmp_path / "none.json"), response), "details file not found")
    _one_line_error(_decide_args(details, str(tmp_path / "none.json")), "--analyze-id file not found")
    _one_line_error(_decide_args(details, broken), "not valid JSON")
    _one_line_error(_decide_args(listed, response), "must hold a JSON object")
    _one_line_error(_decide_args(details, str(tmp_path)), "is a directory")
    _one_line_error(_decide_args(details, detect), "does not hold a AnalyzeID response")
    _one_line_error(_decide_args(details, response, response), "does not hold a DetectFaces")
    _one_line_error(
        _decide_args(details, response, _path(f"{REKOGNITION}/riv_detect_faces_lambda_output.json")),
        "does not hold a DetectFaces",
    )
    _one_line_error(_decide_args(details, response, compare=detect), "needs --detect-faces")
    _one_line_error(_decide_args(details, response, detect), "give --compare-faces too")
    _one_line_error(_decide_args(details, response, today="2020-02-30"), "--today")
    _one_line_error(
        _decide_args(_details_file(tmp_path, {**SOUZA, "id_type": "Visa"}), response), "id_type must be one of"
    )
    _one_line_error(
        _decide_args(_details_file(tmp_path, {**SOUZA, "date_of_birth": "18/03/1978"}), response), "date_of_birth"
    )
    _one_line_error(_decide_args(_details_file(tmp_path, {"email": "a@b.c"}), response), "holds none of")


def test_an_unusable_threshold_setting_is_one_line_and_status_2(tmp_path, monkeypatch):
    args = _decide_args(_details_file(tmp_path, SOUZA), _path(f"{ANALYZE_ID}/trp-two-documents.json"))
    monkeypatch.setenv("KYC_REVIEW_THRESHOLD", "99")
    monkeypatch.setenv("KYC_VERIFY_THRESHOLD", "90")
    from chalicelib import config

    config.reset()
    _one_line_error(args, "KYC_REVIEW_THRESHOLD must not exceed")
    monkeypatch.setenv("KYC_VERIFY_THRESHOLD", "high")
    config.reset()
    _one_line_error(args, "not a number")


def test_python_dash_m_kyc_service_decide(tmp_path):
    """The command as operators run it, in its own process."""
    args = _decide_args(
        _details_file(tmp_path, SOUZA), _path(f"{ANALYZE_ID}/trp-two-documents.json"), today="2020-01-19"
    )
    done = subprocess.run(
        [sys.executable, "-m", "kyc_service", "decide", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["validation_status"] == "verified"
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "kyc_service",
            "decide",
            "--details",
            str(tmp_path / "none.json"),
            "--analyze-id",
            "x.json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.strip().count("\n") == 0 and "not found" in missing.stderr


# --- decide and the stream verifier on the same responses --------------------------------------


def _cases() -> list[tuple[str, dict, str, tuple[str, str] | None]]:
    """(case, details, AnalyzeID response, (DetectFaces, CompareFaces) or None)."""
    faces = (f"{REKOGNITION}/awscli_detect_faces_output.json", f"{REKOGNITION}/awscli_compare_faces_output.json")
    group = (f"{REKOGNITION}/rekdg_detect_faces_response.json", f"{REKOGNITION}/rekdg_compare_faces_response.json")
    labels = recorded.licence_labels()
    cases = []
    for state in ("alabama", "hawaii", "kentucky", "ohio", "texas"):
        holder = recorded.holder(labels[state])
        cases.append((state, holder, f"{recorded.LICENCES}/{state}.json", faces))
    cases.append(
        (
            "alabama-other-birth",
            {**recorded.holder(labels["alabama"]), "date_of_birth": "1950-03-07"},
            f"{recorded.LICENCES}/alabama.json",
            group,
        )
    )
    cases += [
        ("two-documents", SOUZA, f"{ANALYZE_ID}/trp-two-documents.json", group),
        (
            "fake-id-swapped",
            {
                "first_name": "Maria",
                "last_name": "Garcia",
                "date_of_birth": "2001-03-18",
                "id_type": "Driving license",
                "id_value": "736HDV7874JSB",
            },
            f"{ANALYZE_ID}/textractor-fake-id.json",
            faces,
        ),
        (
            "passport-mrz",
            {
                "first_name": "Li",
                "last_name": "Juan",
                "date_of_birth": "1982-05-01",
                "id_type": "Passport",
                "id_value": "0002028373",
            },
            f"{ANALYZE_ID}/nava-passport-with-mrz.json",
            faces,
        ),
        (
            "passport",
            {
                "first_name": "Li",
                "last_name": "Juan",
                "date_of_birth": "1982-05-01",
                "id_type": "Passport",
                "id_value": "0002028373",
            },
            f"{ANALYZE_ID}/trp-passport.json",
            faces,
        ),
        ("no-document", SOUZA, f"{ANALYZE_ID}/trp-no-document.json", faces),
    ]
    return cases


def _plain(value):
    return json.loads(json.dumps(value, default=float))


def test_decide_gives_what_the_stream_verifier_decides(stage, tmp_path, monkeypatch):
    from chalicelib.config import settings
    from chalicelib.http.validation import parse_submission
    from chalicelib.providers.aws import AwsProvider
    from chalicelib.services import store

    # The verifier judges expiry on today's date (UTC); pinned here, and given to decide as
    # --today, so that the recorded documents stay in date or out of it whenever this runs.
    today = dt.date(2020, 1, 19)
    monkeypatch.setattr("chalicelib.handlers.verifier.utc_today", lambda: today)
    rekognition = boto3.client("rekognition", region_name="us-east-1")
    textract = boto3.client("textract", region_name="us-east-1")
    monkeypatch.setattr("chalicelib.services.provider", lambda: AwsProvider(rekognition=rekognition, textract=textract))
    bucket = settings().bucket
    compared = []
    with Stubber(rekognition) as rek_stub, Stubber(textract) as tex_stub:
        for case, details, analyze_id, (detect, compare) in _cases():
            email = f"{case}@example.com"
            front, selfie = stage.upload(TENANT, "id_front"), stage.upload(TENANT, "selfie")
            body = {
                "email": email,
                **details,
                "document_links": [{"kind": "id_front", "key": front}, {"kind": "selfie", "key": selfie}],
            }
            # the verifier hands the providers the evidence pinned at save, never the uploads
            image = lambda key: {"S3Object": {"Bucket": bucket, "Name": key}}  # noqa: E731
            front = stage.evidence_key(TENANT, email, "id_front", front)
            selfie = stage.evidence_key(TENANT, email, "selfie", selfie)
            rek_stub.add_response(
                "detect_faces", recorded.load(detect), {"Image": image(selfie), "Attributes": ["DEFAULT", "SUNGLASSES"]}
            )
            rek_stub.add_response(
                "compare_faces",
                recorded.load(compare),
                {"SourceImage": image(selfie), "TargetImage": image(front), "SimilarityThreshold": 0},
            )
            tex_stub.add_response("analyze_id", recorded.load(analyze_id), {"DocumentPages": [image(front)]})
            store().save(TENANT, parse_submission(body, "local", TENANT, settings()))
            stage.manager.drain()
            rek_stub.assert_no_pending_responses()
            tex_stub.assert_no_pending_responses()
            record = store().get(TENANT, email, details["id_type"], details["id_value"])

            code, replayed, err = _run(
                *_decide_args(
                    _details_file(tmp_path, details, f"{case}.json"),
                    _path(analyze_id),
                    _path(detect),
                    _path(compare),
                    today=today.isoformat(),
                )
            )
            assert code == 0, err
            assert record.validation_status == replayed["validation_status"], case
            assert list(record.reasons or []) == replayed["reasons"], case
            checks = _plain(record.checks.as_dict())
            assert checks.pop("evidence") == {
                "id_front": {"evidence_key": front, "sha256": front[-68:-4]},
                "selfie": {"evidence_key": selfie, "sha256": selfie[-68:-4]},
            }
            assert checks == _plain(replayed["checks"]), case
            compared.append(replayed["validation_status"])
    assert set(compared) == {"verified", "needs_review", "rejected"}


def test_the_verifier_judges_on_todays_utc_date():
    from chalicelib.handlers.verifier import utc_today

    assert utc_today() == dt.datetime.now(dt.UTC).date()
