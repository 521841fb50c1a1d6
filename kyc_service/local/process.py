"""The local stack as a child process (end-to-end tests and benchmarks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from chalicelib.stage import ROOT
from kyc_service.local.env import embedded_client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StackProcess:
    """`python -m kyc_service run` in a subprocess on free ports, ready when it says so."""

    def __init__(self, *extra: str, state_dir: str | None = None):
        self.api_port, self.aws_port = free_port(), free_port()
        args = [
            sys.executable,
            "-m",
            "kyc_service",
            "run",
            "--api-port",
            str(self.api_port),
            "--aws-port",
            str(self.aws_port),
            "--stage",
            "local",
            *extra,
        ]
        if state_dir:
            args += ["--state-dir", state_dir]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KYC_", "AWS_"))}
        self.proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.output: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                raise RuntimeError("stack exited:\n" + "".join(self.output))
            self.output.append(line)
            if line.startswith("ready in"):
                break
        else:
            raise RuntimeError("stack not ready:\n" + "".join(self.output))
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.aws = f"http://127.0.0.1:{self.aws_port}"

    def client(self, service: str):
        return embedded_client(service, self.aws)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            rest, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self.output.append(rest)
        return self.proc.returncode
