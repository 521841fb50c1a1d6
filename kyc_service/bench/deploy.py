"""Deployment figures: the Lambda package size and the cost of `import app`.

`run()` returns [(name, value, unit)]:
* deploy_zip_mb: size of dist/<stage>/deployment.zip built by `kyc_service.infra.packaging.package`
  (goal <= 5).
* import_app_vs_bare: median wall time of `import app` in a fresh interpreter, divided
  by the median for a bare Chalice app that imports boto3 (goal <= 1.5).
Run directly: `python -m kyc_service.bench.deploy` prints `BENCH <name> <value> <unit>`.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from chalicelib.stage import ROOT

RUNS = 7

_TIMER = (
    "import time, sys; sys.path.insert(0, '.'); t = time.perf_counter(); import app; print(time.perf_counter() - t)"
)
BARE_APP = "import boto3\nfrom chalice import Chalice\napp = Chalice(app_name='bare')\n"


def _import_times(cwd: Path, runs: int = RUNS) -> list[float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KYC_")}
    env.update(KYC_STAGE="local", AWS_DEFAULT_REGION="us-east-1")
    times = []
    for i in range(runs + 1):  # the first run only warms the OS file cache
        out = subprocess.run(
            [sys.executable, "-c", _TIMER], cwd=cwd, env=env, check=True, capture_output=True, text=True
        ).stdout
        if i:
            times.append(float(out.strip().splitlines()[-1]))
    return times


def import_ratio(runs: int = RUNS) -> tuple[float, float, float]:
    """(median app seconds, median bare seconds, ratio)."""
    app = statistics.median(_import_times(ROOT, runs))
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "app.py").write_text(BARE_APP)
        bare = statistics.median(_import_times(Path(tmp), runs))
    return app, bare, app / bare


def zip_mb(stage: str = "dev") -> float:
    from kyc_service.infra import packaging

    with tempfile.TemporaryDirectory() as tmp:
        info = packaging.package(stage, out_dir=Path(tmp) / stage)
        return round(Path(info["zip"]).stat().st_size / 2**20, 2)


def run() -> list[tuple[str, float, str]]:
    app, bare, ratio = import_ratio()
    return [
        ("deploy_zip_mb", zip_mb(), "MB"),
        ("import_app_vs_bare", round(ratio, 2), "x"),
        ("import_app_s", round(app, 3), "s"),
        ("import_bare_chalice_boto3_s", round(bare, 3), "s"),
    ]


if __name__ == "__main__":
    for name, value, unit in run():
        print(f"BENCH {name} {value} {unit}")
