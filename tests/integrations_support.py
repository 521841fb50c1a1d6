"""Tenant integrations through the local stack's parts: the API served over HTTP by Chalice's
local server (as `python -m kyc_service run` serves it), a webhook receiver on 127.0.0.1, and
a loop that runs the pollers until something has happened."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str
    at: float


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1: answers `statuses` in turn (then 200), records every POST."""

    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                outer.received.append(Received(self.path, dict(self.headers.items()), body, time.time()))
                time.sleep(outer.delay)
                status = outer.statuses.pop(0) if outer.statuses else 200
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:  # the sender gave up (timeouts)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/kyc"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verified(delivery: Received, secret: str) -> dict[str, Any]:
    """The delivery checked as a tenant checks it: the standardwebhooks package and its secret."""
    from standardwebhooks.webhooks import Webhook

    return Webhook(secret).verify(delivery.body, delivery.headers)


def pump(manager, until: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Run the pollers (delayed SQS messages included) until `until()` or the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        manager.poll_once()
        if until():
            return True
        time.sleep(0.1)
    return until()


class HttpApi:
    """The app over HTTP (Chalice's local server in a thread), called with bearer tokens."""

    def __init__(self, port: int):
        from chalice.config import Config
        from chalice.local import create_local_server

        import app as app_module
        from chalicelib.stage import ROOT, chalice_config
        from kyc_service.local.gateway import install

        install()
        config = Config.create(
            chalice_stage="local",
            app_name=app_module.app.app_name,
            project_dir=str(ROOT),
            config_from_disk=chalice_config(),
        )
        self.server = create_local_server(app_module.app, config, "127.0.0.1", port)
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.server.server.serve_forever, daemon=True).start()

    def call(
        self,
        method: str,
        tenant: str,
        path: str,
        token: str,
        payload: Any = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})}
        return requests.request(
            method,
            f"{self.url}/kyc/stage/local/tenant/{tenant}{path}",
            headers=h,
            data=None if payload is None else json.dumps(payload),
            timeout=30,
        )

    def close(self) -> None:
        self.server.server.shutdown()
        self.server.server.server_close()
