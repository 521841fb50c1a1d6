"""`python -m kyc_service console-screenshots`: the review console in headless Chromium against a
fresh local stack, each screen saved wide (laptop) and narrow (phone) under docs/console/
(docs/console.md shows them). The console's browser test (tests/test_console_browser.py) drives
the same browser and the same seeded applications.

Chromium and its driver are Debian's `chromium` and `chromium-driver` (`make test` installs them
when missing and running as root); selenium drives them, never downloading a browser.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chalicelib.stage import ROOT

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)
WIDE, NARROW = (1280, 860), (390, 844)
SHOTS_DIR = ROOT / "docs" / "console"
# the record's images are there and loaded (from their presigned view_url)
IMAGES_SHOWN = (
    "const imgs = [...document.querySelectorAll('#images img')];"
    "return !document.getElementById('record').hidden && imgs.length > 0 && "
    "imgs.every(i => i.complete && i.naturalWidth > 0)"
)


def chromium_problem() -> str | None:
    """None when headless Chromium can be driven here; otherwise why not."""
    browser = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    driver = shutil.which("chromedriver") or (CHROMEDRIVER if Path(CHROMEDRIVER).exists() else None)
    if not browser or not driver:
        return (
            "Chromium or its driver is not installed (Debian: apt-get install chromium chromium-driver; "
            "`make test` does it when run as root)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements-dev.txt)"
    return None


@contextlib.contextmanager
def browser(width: int, height: int) -> Iterator[Any]:
    """A headless Chromium with a fresh profile, driven by selenium through Debian's chromedriver."""
    import os

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # selenium never fetches a browser or a driver
    profile = tempfile.mkdtemp(prefix="kyc-console-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or CHROMEDRIVER), options=options)
    driver.set_window_size(width, height)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver: Any, script: str, timeout: float = 30, *args: Any) -> Any:
    """Poll a JavaScript expression (`return ...`) until it is truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script, *args)
        if value or time.monotonic() > deadline:
            if not value:
                raise TimeoutError(f"not true within {timeout} s: {script}")
            return value
        time.sleep(0.2)


# -- applications for the console to show ---------------------------------------------------------


def _submit(
    api_url: str,
    aws_port: int,
    tenant: str,
    email: str,
    seed: int,
    swap_names: bool = False,
    selfie: bool = True,
    stage: str = "local",
) -> None:
    from kyc_service.commands.demo import Api, application
    from kyc_service.commands.token import issue_token

    api = Api(api_url, stage, tenant, issue_token(tenant, email, aws_port=aws_port, stage=stage))
    body, images = application("genuine", seed=seed)
    if swap_names:  # the names in each other's place: the verifier asks for review
        body["first_name"], body["last_name"] = body["last_name"], body["first_name"]
    if not selfie:
        images.pop("selfie")
    links = [{"kind": kind, "key": api.upload(kind, png), "filename": f"{kind}.png"} for kind, png in images.items()]
    api.save(dict(body, email=email, document_links=links))


def seed_applications(api_url: str, aws_port: int, stage: str = "local", timeout: float = 240) -> dict[str, Any]:
    """Applications of tenant acme (two that need review, one verified) and one of globex, followed
    until decided. Returns their e-mails by what they became."""
    from kyc_service.commands.demo import Api
    from kyc_service.commands.token import issue_token

    run = uuid.uuid4().hex[:4]
    plan = {
        "acme": [
            (f"swapped-{run}@example.com", {"seed": 11, "swap_names": True}),
            (f"noselfie-{run}@example.com", {"seed": 12, "selfie": False}),
            (f"genuine-{run}@example.com", {"seed": 13}),
        ],
        "globex": [(f"globex-{run}@example.com", {"seed": 14, "selfie": False})],
    }
    for tenant, apps in plan.items():
        for email, options in apps:
            _submit(api_url, aws_port, tenant, email, stage=stage, **options)
    decided: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(decided) < 4:
        for tenant, apps in plan.items():
            admin = Api(api_url, stage, tenant, issue_token(tenant, admin=True, aws_port=aws_port, stage=stage))
            for email, _ in apps:
                status = admin.records(email)[0]["validation_status"]
                if status != "pending":
                    decided[email] = status
        time.sleep(1)
    if len(decided) < 4:
        raise TimeoutError(f"applications not decided within {timeout} s: {decided}")
    return {
        "acme_review": [e for e, _ in plan["acme"] if decided[e] == "needs_review"],
        "acme_verified": [e for e, _ in plan["acme"] if decided[e] == "verified"],
        "globex": [e for e, _ in plan["globex"]],
        "statuses": decided,
        "swapped": plan["acme"][0][0],
        "noselfie": plan["acme"][1][0],
    }


# -- the screens ----------------------------------------------------------------------------------


def shoot(driver: Any, path: Path, full_page: bool = True) -> Path:
    """A PNG of the page; full_page stretches the window to the page's height first."""
    width = driver.get_window_size()["width"]
    if full_page:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(int(height) + 100, 6000))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path


def screens(api_url: str, aws_port: int, seeded: dict[str, Any], out: Path = SHOTS_DIR) -> list[Path]:
    """queue, record, decided, not-admin: each wide and narrow."""
    from kyc_service.commands.console import console_url
    from kyc_service.commands.token import issue_token

    port = int(api_url.rsplit(":", 1)[1])
    saved = []
    for label, (width, height) in (("wide", WIDE), ("narrow", NARROW)):
        with browser(width, height) as driver:
            driver.get(console_url("acme", api_port=port, aws_port=aws_port))
            wait_for(driver, "return document.querySelectorAll('#queue-list .item').length > 0")
            saved.append(shoot(driver, out / f"queue-{label}.png", full_page=False))
            email = seeded["swapped"] if label == "wide" else seeded["noselfie"]
            driver.execute_script("document.querySelector(`.item[data-email='${arguments[0]}']`).click()", email)
            wait_for(driver, IMAGES_SHOWN)
            saved.append(shoot(driver, out / f"record-{label}.png"))
            driver.set_window_size(width, height)
            driver.find_element("id", "outcome-rejected").click()
            driver.find_element("id", "reason").send_keys("The ID was reported stolen")
            driver.find_element("id", "decide").click()
            wait_for(
                driver,
                "return document.getElementById('notice').textContent.startsWith('Decision recorded') && "
                "document.querySelector('#events tbody').textContent.includes('admin:')",
            )
            driver.execute_script("document.getElementById('record-title').scrollIntoView()")
            saved.append(shoot(driver, out / f"decided-{label}.png"))
            driver.set_window_size(width, height)
            user = issue_token("acme", "someone@example.com", aws_port=aws_port)
            driver.get(f"{api_url}/console#token={user}")
            driver.refresh()
            wait_for(driver, "return document.getElementById('notice').textContent.includes('not an admin')")
            saved.append(shoot(driver, out / f"not-admin-{label}.png", full_page=False))
    return saved


def _command(args) -> int:
    problem = chromium_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from kyc_service.local.process import StackProcess

    stack = StackProcess()
    try:
        seeded = seed_applications(stack.api, stack.aws_port)
        for path in screens(stack.api, stack.aws_port, seeded, Path(args.out)):
            print(path)
    finally:
        stack.stop()
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "console-screenshots", help="screenshots of the review console (wide and narrow) on a fresh local stack"
    )
    p.add_argument("--out", default=str(SHOTS_DIR), help="folder of the PNGs (default docs/console)")
    p.set_defaults(func=_command)
