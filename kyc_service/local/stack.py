"""The local stack: the whole service on one machine (`python -m kyc_service run`, commands/run.py).

moto server is the embedded AWS (resources created from infra/resources.yaml, the
definition deployments use), the Chalice app serves the API through Chalice's
local server, and the local pollers run every event handler the app declares.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from chalicelib.stage import ROOT, chalice_config, resource_names
from kyc_service.local import env as localenv


def quiet_embedded_aws() -> None:
    """moto's request log and its notes on CloudFormation types it does not model
    (local/resources.py creates those from the same template) are noise on the console."""
    import logging
    import warnings

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)


def engines_available() -> str | None:
    """None when the self-hosted engines import (and are registered as the "selfhosted"
    provider); otherwise why not."""
    try:
        from kyc_service.engines.adapter import SelfHostedProvider
    except ImportError as exc:
        return str(exc)
    from chalicelib.services import register_provider

    register_provider("selfhosted", SelfHostedProvider.shared)
    return None


@dataclass
class LocalStack:
    stage: str = "local"
    api_port: int = 8000
    aws_port: int = 5000
    host: str = "127.0.0.1"
    state_dir: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    provider: str = "auto"  # "auto": the self-hosted engines when installed; "none": no verification
    provider_problem: str | None = None
    sweep_interval: float = 60.0  # s between retention sweeps (local/retention.py)

    def __post_init__(self):
        self._moto = None
        self._api = None
        self._api_thread = None
        self._events = None
        self._sweeper = None

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def aws_url(self) -> str:
        return localenv.endpoint(self.aws_port)

    def start(self) -> LocalStack:
        from moto.server import ThreadedMotoServer

        quiet_embedded_aws()
        localenv.project_root()
        self._moto = ThreadedMotoServer(ip_address=self.host, port=self.aws_port, verbose=False)
        self._moto.start()
        localenv.apply(self.stage, self.aws_port)
        from kyc_service.local.resources import create_local_resources

        self.outputs = create_local_resources(self.aws_url, self.stage, region=localenv.REGION)
        if self.state_dir:
            from kyc_service.infra.backfill import backfill_id_number_keys, backfill_status_keys
            from kyc_service.local.state import restore

            restore(self.state_dir, self.aws_url)
            # a state saved before the review queue's status index: its records get the index key
            ddb, table = localenv.embedded_client("dynamodb", self.aws_url), resource_names(self.stage).table
            backfill_status_keys(ddb, table)
            backfill_id_number_keys(ddb, table)  # and the duplicate check's ID-number index key
        if self.provider == "none":
            self.provider_problem = "disabled with --provider none"
        else:
            self.provider_problem = engines_available()
            self.provider = "selfhosted" if self.provider_problem is None else "none"
        localenv.apply(
            self.stage,
            self.aws_port,
            {
                **localenv.token_settings(self.stage, self.aws_port),
                "KYC_PROVIDER": self.provider,
                "KYC_LICENSE_VALIDATOR_URL": f"{self.api_url}/mock/license-validator",
            },
        )
        self._start_api()
        self._start_events()
        self._start_retention()
        return self

    def _start_retention(self) -> None:
        """moto runs no lifecycle rules and no TTL: the template's rules, applied by a sweeper."""
        from kyc_service.local.resources import local_parameters
        from kyc_service.local.retention import Sweeper, SweeperThread

        sweeper = Sweeper(self.aws_url, self.stage, local_parameters(), region=localenv.REGION)
        self._sweeper = SweeperThread(sweeper, self.sweep_interval).start()

    def _start_api(self) -> None:
        from chalice.config import Config
        from chalice.local import create_local_server

        from kyc_service.local.gateway import install

        install()
        import app as app_module

        config = Config.create(
            chalice_stage=self.stage,
            app_name=app_module.app.app_name,
            project_dir=str(ROOT),
            config_from_disk=chalice_config(),
        )
        self._api = create_local_server(app_module.app, config, self.host, self.api_port)
        self._api_thread = threading.Thread(target=self._api.server.serve_forever, name="api", daemon=True)
        self._api_thread.start()

    def _start_events(self) -> None:
        import app as app_module
        from kyc_service.local.events.manager import EventSourceManager, EventSourceOptions

        handlers = [cfg.name for cfg in app_module.app.event_sources]
        if self.provider == "none":  # never let moto's canned CompareFaces decide an application
            handlers = [h for h in handlers if h != "verify_records"]
        names = resource_names(self.stage)
        self._events = EventSourceManager(
            app_module,
            EventSourceOptions(
                endpoint=self.aws_url,
                region=localenv.REGION,
                stage=self.stage,
                handlers=tuple(handlers),
                stream_table=names.table,
                starting_position="TRIM_HORIZON",
                failure_queue=names.failure_queue,
            ),
        )
        self._events.start()

    def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.stop()
        if self._events is not None:
            self._events.stop()
        if self._api is not None:
            self._api.server.shutdown()
            self._api.server.server_close()
        if self.state_dir and self._moto is not None:
            from kyc_service.local.state import save

            save(self.state_dir, self.aws_url)
        if self._moto is not None:
            self._moto.stop()

    def banner(self) -> str:
        o = self.outputs
        stage, api = self.stage, self.api_url
        names = resource_names(stage)
        if self.provider == "selfhosted":
            provider = "self-hosted engines (dlib face embedding, RapidOCR, zxing-cpp, mrz)"
        else:
            provider = (
                f"NONE - automatic verification is OFF: {self.provider_problem}. "
                "Install them with: .venv/bin/pip install -r requirements-engines.txt"
            )
        token = f"python -m kyc_service token --tenant acme --email me@example.com --aws-port {self.aws_port}"
        body = '{"email": "me@example.com", "first_name": "Ada", "last_name": "Lovelace",'  # continued below
        return f"""
kyc-service local stack, stage '{stage}'
  API           {api}
  embedded AWS  {self.aws_url}   (aws --endpoint-url {self.aws_url} ...)
  provider      {provider}
  resources     table {o.get("KycTableName")}, identity {o.get("IdentityTableName")},
                events {o.get("EventsTableName")}, bucket {o.get("DocumentBucketName")},
                topic {o.get("NotificationsTopicArn")},
                queues {names.license_queue}, {names.license_dlq}, {names.failure_queue},
                user pool {o.get("UserPoolId")}

Try it (another terminal, from the project folder):
  TOKEN=$(.venv/bin/{token} | tail -1)
  curl -s -X POST {api}/kyc/stage/{stage}/tenant/acme/documents -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d '{{"content_type": "image/png", "kind": "selfie"}}'
  # POST the file to upload.url with upload.fields (curl -F for each field, then -F file=@me.png); keep "key"
  curl -s -X POST {api}/kyc/stage/{stage}/tenant/acme/create_or_update -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d '{body}
       "date_of_birth": "1990-04-20", "id_type": "Driving license", "id_value": "D1234-5678",
       "document_links": [{{"kind": "selfie", "key": "<key>"}}, {{"kind": "id_front", "key": "<key>"}}]}}'
  curl -s {api}/kyc/stage/{stage}/tenant/acme/email/me%40example.com -H "Authorization: Bearer $TOKEN"
Or the whole flow with generated images:  .venv/bin/python -m kyc_service demo
Ctrl-C stops everything.
"""
