"""What every local poller shares: the handler it invokes as Lambda would (with a context), and
the loop its thread runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.stage import function_name
from kyc_service.local.events.lambda_events import make_context

if TYPE_CHECKING:
    from kyc_service.local.events.manager import EventSourceManager

log = logging.getLogger("kyc_service.local.events")
ACCOUNT_ID = "123456789012"  # moto's default account, in function ARNs


class Poller:
    kind = "base"

    def __init__(self, mgr: EventSourceManager, config: Any, handler: Callable[..., Any]):
        self.mgr = mgr
        self.config = config
        self.name: str = config.name
        self.handler = handler
        self.function_name = function_name(mgr.app_name, mgr.options.stage, config.name)
        self.function_arn = f"arn:aws:lambda:{mgr.options.region}:{ACCOUNT_ID}:function:{self.function_name}"
        self.thread: threading.Thread | None = None
        self.invocations = 0

    # one round of work; returns the number of records delivered to the handler
    def poll_once(self, wait: bool = False) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def idle_sleep(self) -> float:
        return self.mgr.options.poll_interval

    def invoke(self, event: dict[str, Any]) -> tuple[bool, Any, str | None]:
        """Run the handler; (ok, response, error class name)."""
        self.invocations += 1
        ctx = make_context(self.function_name, self.function_arn)
        try:
            return True, self.handler(event, ctx), None
        except Exception as exc:  # the handler's failure is data here
            log.warning(
                "%s %s: handler raised %s (request %s)", self.kind, self.name, type(exc).__name__, ctx.aws_request_id
            )
            log.debug("%s %s: handler traceback", self.kind, self.name, exc_info=True)
            return False, None, type(exc).__name__

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                n = self.poll_once(wait=True)
            except Exception as exc:  # never let a transient AWS error kill the thread
                log.warning("%s %s: poll failed: %s", self.kind, self.name, type(exc).__name__)
                log.debug("poll failure", exc_info=True)
                n = 0
                stop.wait(1.0)
            if n == 0:
                stop.wait(self.idle_sleep())
