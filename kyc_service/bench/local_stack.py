"""The local stack end to end: applications decided per minute over HTTP (embedded AWS,
self-hosted engines)."""

from __future__ import annotations

import time


def run(applications: int = 30) -> list[tuple[str, float, str]]:
    """Applications decided per minute, end to end over HTTP, self-hosted engines."""
    from concurrent.futures import ThreadPoolExecutor

    from kyc_service.commands.demo import Api, application
    from kyc_service.commands.token import issue_token
    from kyc_service.local.process import StackProcess

    stack = StackProcess()
    try:
        prepared = []
        for i in range(applications):
            email = f"bench{i}@example.com"
            api = Api(stack.api, "local", "bench", issue_token("bench", email, aws_port=stack.aws_port))
            prepared.append((api, email, application("genuine", seed=100 + i)))

        def submit(item):
            api, email, (body, images) = item
            links = [{"kind": k, "key": api.upload(k, png)} for k, png in images.items()]
            api.save(dict(body, email=email, document_links=links))

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(submit, prepared))
        pending = {email: api for api, email, _ in prepared}
        statuses = {}
        while pending and time.perf_counter() - started < 600:
            time.sleep(0.5)
            for email, api in list(pending.items()):
                status = api.records(email)[0]["validation_status"]
                if status != "pending":
                    statuses[email] = status
                    del pending[email]
        elapsed = time.perf_counter() - started
    finally:
        stack.stop()
    decided = len(statuses)
    return [
        ("local_apps_per_min", round(decided / elapsed * 60, 1), "apps/min"),
        ("local_apps_verified", sum(s == "verified" for s in statuses.values()), f"of {applications}"),
    ]
