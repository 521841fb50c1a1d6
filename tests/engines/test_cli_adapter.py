"""The CLI through `python -m kyc_service` in a subprocess, the S3 adapter, lazy imports."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args, timeout=180):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "kyc_service", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    return proc


def test_compare_faces_cli(faces_dir):
    proc = run_cli("compare-faces", str(faces_dir / "obama_1.jpg"), str(faces_dir / "obama_2.jpg"))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) == {"similarity", "match", "source_face_count", "target_face_count"}
    assert out["match"] is True and out["similarity"] >= 95
    assert out["source_face_count"] == 1 and out["target_face_count"] == 1


def test_compare_faces_cli_pairs(faces_dir, tmp_path):
    pairs = tmp_path / "pairs.csv"
    rows = [
        ("biden_1.jpg", "biden_2.jpg"),
        ("two_people.jpg", "rose_leslie_1.jpg"),
        ("kit_harington_1.jpg", "alex_lacamoire_1.jpg"),
    ]
    pairs.write_text("source,target\n" + "".join(f"{faces_dir / a},{faces_dir / b}\n" for a, b in rows))
    proc = run_cli("compare-faces", "--pairs", str(pairs))
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(Path(o["source"]).name, Path(o["target"]).name) for o in lines] == rows
    assert [o["match"] for o in lines] == [True, False, False]
    assert lines[1]["source_face_count"] == 2


def test_compare_faces_threshold_env(faces_dir, monkeypatch):
    monkeypatch.setenv("KYC_VERIFY_THRESHOLD", "100.1")
    proc = run_cli("compare-faces", str(faces_dir / "obama_1.jpg"), str(faces_dir / "obama_2.jpg"))
    assert json.loads(proc.stdout)["match"] is False


def test_compare_faces_cli_unreadable(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    proc = run_cli("compare-faces", str(bad), str(bad))
    assert proc.returncode == 1 and "unusable image" in proc.stderr


def test_analyze_id_cli(tmp_path):
    from kyc_service.testdata import docgen, samples

    details = docgen.random_details(42)
    front, back = docgen.make_licence(details, samples.portrait_image(), layout=1)
    (tmp_path / "front.png").write_bytes(front)
    (tmp_path / "back.png").write_bytes(back)
    proc = run_cli("analyze-id", str(tmp_path / "front.png"), str(tmp_path / "back.png"))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["DATE_OF_BIRTH"]["value"] == details["date_of_birth"]
    assert out["DOCUMENT_NUMBER"]["value"] == details["document_number"]
    assert out["ID_TYPE"]["value"] == "DRIVER LICENSE FRONT"
    assert all(set(v) == {"value", "confidence"} for v in out.values())
    # nothing personal in the logs
    for secret in (details["last_name"], details["document_number"]):
        assert secret not in proc.stderr


def test_cli_module_is_light():
    code = (
        "import sys, kyc_service.engines.cli as c, kyc_service.engines.adapter; "
        "heavy = [m for m in ('dlib','rapidocr','onnxruntime','cv2','zxingcpp','numpy','PIL') "
        "if m in sys.modules]; print(heavy)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_models_ship_inside_packages():
    import face_recognition_models as frm
    import rapidocr

    assert Path(frm.pose_predictor_five_point_model_location()).is_file()
    assert Path(frm.face_recognition_model_location()).is_file()
    models = list((Path(rapidocr.__file__).parent / "models").glob("*.onnx"))
    assert any("det" in m.name for m in models) and any("rec" in m.name for m in models)


def test_never_loads_68_point_model():
    source = (ROOT / "kyc_service" / "engines" / "faces.py").read_text()
    assert "pose_predictor_five_point_model_location" in source
    assert "pose_predictor_model_location()" not in source


@pytest.fixture
def s3(monkeypatch):
    moto = pytest.importorskip("moto")
    import boto3

    from chalicelib import aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("KYC_AWS_ENDPOINT", raising=False)
    aws.reset_clients()
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="local-kyc-documents")
        yield client
    aws.reset_clients()


def test_adapter_over_s3(s3, face_engine):
    from chalicelib.providers.port import ImageRef, UnusableInput
    from kyc_service.engines.adapter import SelfHostedProvider
    from kyc_service.testdata import docgen, samples

    selfie, portrait = samples.genuine_pair()
    details = docgen.random_details(77)
    front, back = docgen.make_licence(details, portrait, layout=2)
    for key, body in (("acme/selfie.png", selfie), ("acme/front.png", front), ("acme/back.png", back)):
        s3.put_object(Bucket="local-kyc-documents", Key=key, Body=body)
    provider = SelfHostedProvider.shared()
    assert provider is SelfHostedProvider.shared() and provider.name == "selfhosted"
    ref = lambda k: ImageRef("local-kyc-documents", k)  # noqa: E731
    result = provider.compare_faces(ref("acme/selfie.png"), ref("acme/front.png"))
    assert result.similarity >= 95 and result.target_face_count == 1
    response = provider.analyze_id(ref("acme/front.png"), ref("acme/back.png"))
    assert response["KycConsistency"]["mismatched_fields"] == []
    with pytest.raises(UnusableInput) as info:
        provider.compare_faces(ref("acme/missing.png"), ref("acme/front.png"))
    assert info.value.reason == "document image not found"
