"""Lambda event source emulation for the local stack: the manager of the pollers.

`chalice local` serves the REST API only; it never runs `@app.on_dynamodb_record`,
`@app.on_sqs_message` or `@app.on_s3_event` handlers. `EventSourceManager` reads the
handlers from the Chalice app's `event_sources` and runs each one against the embedded AWS
(moto server) with the poller of its kind (streams.py, sqs.py, s3.py), the way Lambda's event
source mappings and S3 notifications would:

    mgr = EventSourceManager(app_module, EventSourceOptions(
        endpoint="http://127.0.0.1:5000", stage="local", failure_queue="local-kyc-stream-failures"))
    mgr.start()          # one daemon thread per handler
    ...
    mgr.stop()           # prompt, joins every thread

Tests drive the same pollers synchronously with `mgr.poll_once()` / `mgr.drain()`.

Log lines carry counts, sequence numbers and message ids only: records hold PII.
docs/local.md ("Event sources") lists every difference from AWS.
"""

from __future__ import annotations

import importlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from kyc_service.local.env import embedded_client
from kyc_service.local.events.poller import Poller, log
from kyc_service.local.events.s3 import S3Poller
from kyc_service.local.events.sqs import SQSPoller
from kyc_service.local.events.streams import StreamPoller


@dataclass(frozen=True)
class EventSourceOptions:
    """How the local event sources run. The defaults are Lambda's; tests make them quicker."""

    endpoint: str  # the embedded AWS, "http://127.0.0.1:5000"
    region: str = "us-east-1"  # of the clients and of the event records
    stage: str = "local"  # in function names and ARNs
    handlers: tuple[str, ...] | None = None  # the app's handlers to run (None: every one)
    # the table whose stream the stream handlers read instead of the one their stream_arn
    # names: one name for all, or {handler name: table}
    stream_table: str | Mapping[str, str] | None = None
    starting_position: str | None = None  # None: each handler's own
    failure_queue: str | None = None  # stream mappings' on-failure destination (None: none)
    max_retries: int = 3  # MaximumRetryAttempts of each stream mapping
    s3_max_retries: int = 2  # Lambda's asynchronous invocation retries
    poll_interval: float = 0.25  # s between idle polls
    retry_delay: float = 1.0  # s before a failed batch or S3 event is retried
    sqs_wait_seconds: int = 1  # long polling of the queues


class _Clients:
    """boto3 clients of the embedded AWS, created once per service (thread-safe use)."""

    def __init__(self, endpoint: str, region: str):
        from botocore.config import Config

        self.endpoint, self.region = endpoint, region
        self.config = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=20)
        self._lock = threading.Lock()
        self._cache: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        with self._lock:
            client = self._cache.get(service)
            if client is None:
                client = self._cache[service] = embedded_client(service, self.endpoint, self.region, self.config)
            return client


class EventSourceManager:
    """Runs a Chalice app's DynamoDB stream, SQS and S3 handlers against an embedded AWS.

    app_module: the module that defines `app` (a chalice.Chalice), or its import name; handlers
    are looked up as attributes of this module by handler_string.
    """

    def __init__(self, app_module: ModuleType | str, options: EventSourceOptions):
        if isinstance(app_module, str):
            app_module = importlib.import_module(app_module)
        self.app_module = app_module
        self.app = app_module.app
        self.app_name = getattr(self.app, "app_name", "app")
        self.options = options
        self.clients = _Clients(options.endpoint, options.region)
        self.s3_config_lock = threading.Lock()
        self.s3_setup_lock = threading.Lock()
        self._failure_url: str | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.pollers: list[Poller] = self._discover(set(options.handlers) if options.handlers else None)

    # -- discovery
    def _discover(self, only: set[str] | None) -> list[Poller]:
        from chalice.app import DynamoDBEventConfig, S3EventConfig, SQSEventConfig

        pollers: list[Poller] = []
        for cfg in getattr(self.app, "event_sources", []):
            if only is not None and cfg.name not in only:
                continue
            kind = {DynamoDBEventConfig: StreamPoller, SQSEventConfig: SQSPoller, S3EventConfig: S3Poller}.get(
                type(cfg)
            )
            if kind is None:
                log.info("event source %s (%s) is not emulated locally", cfg.name, type(cfg).__name__)
                continue
            attr = cfg.handler_string.rsplit(".", 1)[-1]
            handler = getattr(self.app_module, attr, None)
            if handler is None or not callable(handler):
                raise LookupError(
                    f"handler {cfg.handler_string!r} not found in "
                    f"{getattr(self.app_module, '__name__', self.app_module)}"
                )
            pollers.append(kind(self, cfg, handler))
        return pollers

    def poller(self, name: str) -> Poller:
        for p in self.pollers:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # -- failure destination
    def send_failure_record(self, record: dict[str, Any]) -> bool:
        """Put a stream mapping's on-failure record on the failure queue (if there is one)."""
        failure_queue = self.options.failure_queue
        if not failure_queue:
            return False
        sqs = self.clients("sqs")
        try:
            if self._failure_url is None:
                try:
                    self._failure_url = sqs.get_queue_url(QueueName=failure_queue)["QueueUrl"]
                except sqs.exceptions.QueueDoesNotExist:
                    self._failure_url = sqs.create_queue(QueueName=failure_queue)["QueueUrl"]
            sqs.send_message(QueueUrl=self._failure_url, MessageBody=json.dumps(record))
            return True
        except Exception as exc:  # noqa: BLE001 - reported; the batch moves on as Lambda's would
            log.error("could not send a failure record to %s: %s", failure_queue, type(exc).__name__)
            return False

    # -- synchronous use (tests)
    def prime(self) -> None:
        """Take initial stream iterators now (LATEST starts here) and set up S3 queues."""
        self._check_not_running()
        for p in self.pollers:
            if isinstance(p, StreamPoller):
                p.prime()
            elif isinstance(p, S3Poller):
                with self.s3_setup_lock:
                    p.setup()

    def poll_once(self) -> int:
        """One round over every poller, without waiting; returns records delivered."""
        self._check_not_running()
        return sum(p.poll_once(wait=False) for p in self.pollers)

    def drain(self, max_rounds: int = 200) -> int:
        """Poll until a round delivers nothing (retries included); returns records delivered."""
        total = 0
        for _ in range(max_rounds):
            n = self.poll_once()
            total += n
            if n == 0:
                return total
        log.warning("drain: still delivering after %d rounds", max_rounds)
        return total

    def _check_not_running(self) -> None:
        if self.running:
            raise RuntimeError("poll_once/drain/prime cannot run while the pollers run")

    # -- threads
    def start(self) -> EventSourceManager:
        if self.running:
            return self
        self._stop.clear()
        self._threads = []
        for p in self.pollers:
            t = threading.Thread(target=p.run, args=(self._stop,), daemon=True, name=f"poller-{p.kind}-{p.name}")
            p.thread = t
            self._threads.append(t)
            t.start()
        log.info(
            "event sources: %d poller(s) started (%s)",
            len(self.pollers),
            ", ".join(f"{p.kind}:{p.name}" for p in self.pollers) or "none",
        )
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Signal every poller and wait for it; a handler already running finishes first."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            log.warning("event sources: %d poller(s) still busy at shutdown: %s", len(alive), ", ".join(alive))
        else:
            log.info("event sources: stopped")

    def __enter__(self) -> EventSourceManager:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
