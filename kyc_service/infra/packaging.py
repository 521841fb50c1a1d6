"""The Lambda package of a stage: `python -m kyc_service package --stage S` builds dist/S/:
deployment.zip (app.py, chalicelib/, Lambda wheels) and sam.json (Chalice's template merged with
the stage resources, kyc_service.infra.sam), deployable with `sam deploy` or
`aws cloudformation package/deploy`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

from chalicelib.stage import ROOT, resource_names, stage_environment
from kyc_service.infra import chalice_patches
from kyc_service.infra.sam import merge
from kyc_service.infra.template import load_template

DIST = ROOT / "dist"

# The Lambda runtime the stage runs on. Not python3.11 (what the local interpreter
# would make Chalice pick): python3.11 Lambda is Amazon Linux 2 (glibc 2.26), and the
# pinned rapidfuzz 3.14.6 ships only manylinux_2_27/2_28 wheels. python3.12 is Amazon
# Linux 2023 (glibc 2.34); the code is pure Python that runs on 3.11 and 3.12.
LAMBDA_RUNTIME = "python3.12"
LAMBDA_PYTHON = "3.12"
LAMBDA_GLIBC_MINOR = 34

# The Lambda runtime provides these (boto3 and what only it needs): never shipped.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")
# Packaging / dev tools never needed at runtime (chalice's runtime part is added by
# `chalice package` itself).
NOT_SHIPPED = ("chalice",)


def _requirements(project_dir: Path) -> list[str]:
    lines = []
    for raw in (project_dir / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name = line.split("[")[0].split("=")[0].split("<")[0].split(">")[0].strip().lower()
        if name in NOT_SHIPPED or name in RUNTIME_PROVIDED:
            continue
        lines.append(line)
    return lines


def build_vendor(project_dir: Path, cache_dir: Path | None = None) -> Path:
    """Lambda (manylinux, LAMBDA_PYTHON) wheels of the runtime requirements, installed in a
    directory that `chalice package` ships as vendor/; minus what Lambda provides.

    pip resolves dependencies (pynamodb pulls botocore), so RUNTIME_PROVIDED packages
    are removed after the install. Cached by the requirements' hash.
    """
    reqs = _requirements(project_dir)
    recipe = reqs + [LAMBDA_RUNTIME, *RUNTIME_PROVIDED, *TRIM_GLOBS]
    digest = hashlib.sha256("\n".join(recipe).encode()).hexdigest()[:16]
    cache_dir = cache_dir or DIST / ".vendor"
    target = cache_dir / digest
    if (target / ".complete").exists():
        return target
    # Built aside and renamed into place: concurrent packagers never see half a tree.
    work = cache_dir / f"{digest}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    req_file = cache_dir / f"{digest}.txt"
    req_file.write_text("\n".join(reqs) + "\n")
    platforms = [f"manylinux_2_{m}_x86_64" for m in range(17, LAMBDA_GLIBC_MINOR + 1)]
    platforms.append("manylinux2014_x86_64")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--target",
        str(work),
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON,
        "--only-binary=:all:",
        "--no-compile",
        "-r",
        str(req_file),
    ]
    for p in platforms:
        cmd += ["--platform", p]
    subprocess.run(cmd, check=True)
    _remove_packages(work, RUNTIME_PROVIDED)
    shutil.rmtree(work / "bin", ignore_errors=True)
    trim(work)
    (work / ".complete").write_text("\n".join(reqs))
    try:
        work.rename(target)
    except OSError:  # another packager finished first
        shutil.rmtree(work, ignore_errors=True)
    return target


# Files nothing imports at runtime. rapidfuzz's *_avx2 extension modules are optional
# speed-ups: rapidfuzz imports them inside contextlib.suppress(ImportError) and falls
# back to the baseline (SSE2) modules, which stay.
TRIM_GLOBS = (
    "**/*.pyi",
    "**/__pycache__",
    "**/*.pyc",
    "rapidfuzz/**/*_avx2*.so",
    "rapidfuzz/__pyinstaller",
    "**/py.typed",
)


def trim(site: Path) -> None:
    for pattern in TRIM_GLOBS:
        for path in list(site.glob(pattern)):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _remove_packages(site: Path, names: Iterable[str]) -> None:
    for name in names:
        for path in list(site.glob(name)) + list(site.glob(f"{name}-*.dist-info")):
            shutil.rmtree(path, ignore_errors=True)


def stage_project(project_dir: Path, stage_dir: Path, vendor: Path) -> Path:
    """A copy of the Chalice project to package: app.py, chalicelib/, .chalice config and
    policies, vendor/ from build_vendor, and an empty requirements.txt."""
    proj = stage_dir / "project"
    shutil.rmtree(proj, ignore_errors=True)
    (proj / ".chalice").mkdir(parents=True)
    shutil.copy2(project_dir / "app.py", proj / "app.py")
    if (project_dir / "chalicelib").is_dir():
        shutil.copytree(
            project_dir / "chalicelib", proj / "chalicelib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    for f in (project_dir / ".chalice").glob("*.json"):
        shutil.copy2(f, proj / ".chalice" / f.name)
    shutil.copytree(vendor, proj / "vendor", ignore=shutil.ignore_patterns(".complete"))
    (proj / "requirements.txt").write_text("# runtime deps are pre-installed in vendor/\n")
    return proj


def chalice_package(project_dir: Path, stage: str, out_dir: Path, env: dict[str, str] | None = None) -> dict:
    """`chalice package` (the venv's chalice, patched: chalice_patches.py) in a fresh interpreter;
    returns sam.json."""
    shutil.rmtree(out_dir, ignore_errors=True)
    run_env = dict(os.environ)
    run_env.setdefault("AWS_DEFAULT_REGION", run_env.get("AWS_REGION", "us-east-1"))
    run_env.update(env or {})
    proc = chalice_patches.run(
        "package", LAMBDA_RUNTIME, [str(project_dir), stage, str(out_dir)], run_env, project_root=ROOT
    )
    if proc.returncode != 0:
        raise RuntimeError(f"chalice package failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads((out_dir / "sam.json").read_text())


def zip_report(path: Path) -> dict:
    with zipfile.ZipFile(path) as zf:
        tops: dict[str, int] = {}
        for info in zf.infolist():
            top = info.filename.split("/", 1)[0]
            tops[top] = tops.get(top, 0) + info.compress_size
    return {
        "bytes": path.stat().st_size,
        "mb": round(path.stat().st_size / 2**20, 2),
        "top_level": dict(sorted(tops.items(), key=lambda kv: -kv[1])),
    }


def package(
    stage: str,
    project_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    resources_template: dict | None = None,
    vendor_cache: str | os.PathLike | None = None,
) -> dict:
    """Build dist/<stage>/: sam.json (merged, hardened) and deployment.zip.

    Returns {"template": path, "zip": path, "zip_mb": float, "chalice_template": path}.
    """
    project = Path(project_dir or ROOT).resolve()
    out = Path(out_dir or DIST / stage).resolve()
    out.mkdir(parents=True, exist_ok=True)
    vendor = build_vendor(project, cache_dir=Path(vendor_cache) if vendor_cache else None)
    proj = stage_project(project, out, vendor)
    env = stage_environment(stage, root=project)
    chalice_out = out / "chalice"
    sam = chalice_package(
        proj, stage, chalice_out, env={"KYC_STREAM_ARN": resource_names(stage, env).placeholder_stream_arn()}
    )
    merged = merge(sam, resources_template or load_template(), stage=stage, environment=env)
    for r in merged["Resources"].values():
        if r.get("Type") == "AWS::Serverless::Function":
            r["Properties"]["CodeUri"] = "./deployment.zip"
    shutil.copy2(chalice_out / "deployment.zip", out / "deployment.zip")
    (out / "sam.json").write_text(json.dumps(merged, indent=2) + "\n")
    shutil.rmtree(proj, ignore_errors=True)
    report = zip_report(out / "deployment.zip")
    return {
        "template": str(out / "sam.json"),
        "zip": str(out / "deployment.zip"),
        "zip_mb": report["mb"],
        "zip_top_level": report["top_level"],
        "chalice_template": str(chalice_out / "sam.json"),
    }
