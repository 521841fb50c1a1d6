"""What this project changes in Chalice 1.34 (private API), and the two Chalice runs that need it.

* `pin_runtime(runtime)`: Chalice picks the Lambda runtime from the local interpreter; the
  stage runs on another one (kyc_service.infra.packaging.LAMBDA_RUNTIME).
* `allow_s3_events_in_sam()`: Chalice refuses S3 events in SAM output (it cannot change an
  existing bucket's notifications); kyc_service.infra.sam.merge points the event at the bucket
  the same template creates, which SAM supports.

The patches change classes for the whole interpreter, so they run in a fresh one, never in the
caller's: `python -m kyc_service.infra.chalice_patches package|deploy ...` (packaging.py and
deploy.py start it). This module imports nothing of the project: Chalice loads the staged
project's own app.py and chalicelib/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def pin_runtime(runtime: str) -> None:
    import chalice.config

    chalice.config.Config.lambda_python_version = property(lambda self: runtime)  # type: ignore[assignment]


def allow_s3_events_in_sam() -> None:
    from chalice import package as chalice_package
    from chalice.utils import to_cfn_resource_name

    def s3_event(self: Any, resource: Any, template: dict[str, Any]) -> None:
        function = to_cfn_resource_name(resource.lambda_function.resource_name)
        self._register_cfn_resource_name(resource.resource_name)
        rules = []
        if resource.prefix:
            rules.append({"Name": "prefix", "Value": resource.prefix})
        if resource.suffix:
            rules.append({"Name": "suffix", "Value": resource.suffix})
        props: dict[str, Any] = {"Bucket": resource.bucket, "Events": resource.events}
        if rules:
            props["Filter"] = {"S3Key": {"Rules": rules}}
        template["Resources"][function]["Properties"].setdefault("Events", {})[
            to_cfn_resource_name(resource.resource_name)
        ] = {"Type": "S3", "Properties": props}

    chalice_package.SAMTemplateGenerator._generate_s3bucketnotification = s3_event


def run_package(project_dir: str, stage: str, out_dir: str) -> int:
    """`chalice package` of the staged project into out_dir (sam.json, deployment.zip)."""
    allow_s3_events_in_sam()
    from chalice.cli import main

    sys.argv = ["chalice", "--project-dir", project_dir, "package", "--stage", stage, out_dir]
    return int(main() or 0)


def run_deploy(project_dir: str, stage: str, policy_dir: str, environment: dict[str, str]) -> int:
    """`chalice deploy` of the staged project with environment overrides and one policy per function
    (`<policy_dir>/<function>.json`, each function's own role; `policy.json` for any other);
    prints the deployed resources on a line `KYC_DEPLOYED <json>`."""
    from pathlib import Path

    from chalice.cli.factory import CLIFactory
    from chalice.utils import UI

    config_path = Path(project_dir) / ".chalice" / "config.json"
    chalice_config = json.loads(config_path.read_text())
    stage_config = chalice_config["stages"][stage]
    stage_config["iam_policy_file"] = str(Path(policy_dir) / "policy.json")
    functions = stage_config.setdefault("lambda_functions", {})
    for policy in sorted(Path(policy_dir).glob("*.json")):
        if policy.stem != "policy":
            functions.setdefault(policy.stem, {})["iam_policy_file"] = str(policy.resolve())
    config_path.write_text(json.dumps(chalice_config, indent=2))
    factory = CLIFactory(project_dir=project_dir, environ=os.environ)
    config = factory.create_config_obj(
        chalice_stage_name=stage, user_provided_params={"environment_variables": environment}
    )
    session = factory.create_botocore_session()
    ui = UI()
    deployer = factory.create_default_deployer(session=session, config=config, ui=ui)
    values = deployer.deploy(config, chalice_stage_name=stage)
    factory.create_deployment_reporter(ui=ui).display_report(values)
    print("KYC_DEPLOYED " + json.dumps(values.get("resources", []), default=str))
    return 0


def run(
    action: str, runtime: str, args: list[str], env: dict[str, str], project_root: Path
) -> subprocess.CompletedProcess[str]:
    """Run `action` ("package" or "deploy") in a fresh interpreter that imports this module from
    project_root; output captured."""
    env = dict(env, PYTHONPATH=os.pathsep.join(filter(None, [str(project_root), env.get("PYTHONPATH")])))
    return subprocess.run(
        [sys.executable, "-m", "kyc_service.infra.chalice_patches", action, "--runtime", runtime, *args],
        env=env,
        capture_output=True,
        text=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kyc_service.infra.chalice_patches")
    sub = parser.add_subparsers(dest="action", required=True)
    package = sub.add_parser("package")
    package.add_argument("--runtime", required=True)
    package.add_argument("project_dir")
    package.add_argument("stage")
    package.add_argument("out_dir")
    deploy = sub.add_parser("deploy")
    deploy.add_argument("--runtime", required=True)
    deploy.add_argument("project_dir")
    deploy.add_argument("stage")
    deploy.add_argument("policy_dir")
    deploy.add_argument("environment", help="JSON object of environment variable overrides")
    args = parser.parse_args(argv)
    pin_runtime(args.runtime)
    if args.action == "package":
        return run_package(args.project_dir, args.stage, args.out_dir)
    return run_deploy(args.project_dir, args.stage, args.policy_dir, json.loads(args.environment))


if __name__ == "__main__":
    sys.exit(main())
