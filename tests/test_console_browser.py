"""The review console in a real browser: headless Chromium (Debian's chromium and chromium-driver,
driven by selenium) against the local stack as a subprocess, with applications decided by the
self-hosted engines. The queue lists the tenant's records that need review (and no other
tenant's), a record shows its document images, a decision made in the page changes the record
and its audit trail and stands against the customer's resubmission, and a user's token sees
nothing."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests

from kyc_service.commands.screenshots import browser, chromium_problem, seed_applications, wait_for

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def running():
    problem = chromium_problem()
    if problem:
        pytest.skip(f"no browser for the console test: {problem}")
    pytest.importorskip(
        "kyc_service.engines.adapter",
        reason="self-hosted engines not installed "
        "(requirements-engines.txt): the local stack decides nothing without them",
    )
    from kyc_service.local.process import StackProcess

    stack = StackProcess()
    try:
        stack.seeded = seed_applications(stack.api, stack.aws_port)
        yield stack
    finally:
        assert stack.stop() == 0


def token(running, tenant: str, email: str | None = None, admin: bool = False) -> str:
    from kyc_service.commands.token import issue_token

    return issue_token(tenant, email, admin=admin, aws_port=running.aws_port)


def open_console(driver, running, bearer: str) -> None:
    driver.get(f"{running.api}/console#token={bearer}")
    driver.refresh()  # a fragment change alone does not load the page again


def queue_emails(driver) -> list[str]:
    return driver.execute_script("return [...document.querySelectorAll('#queue-list .item')].map(b => b.dataset.email)")


def test_the_console_page_is_served_with_its_files_and_holds_no_data(running):
    page = requests.get(f"{running.api}/console", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "@example.com" not in page.text
    for name, kind in (("console.js", "text/javascript"), ("console.css", "text/css")):
        r = requests.get(f"{running.api}/console/{name}", timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(kind)
    assert requests.get(f"{running.api}/console/config.json", timeout=10).json() == {"stage": "local", "sign_in": None}
    assert requests.get(f"{running.api}/console/secrets.txt", timeout=10).status_code == 404


def test_an_admin_finds_sees_and_decides_a_record_in_the_browser(running):
    seeded = running.seeded
    assert seeded["statuses"][seeded["swapped"]] == "needs_review", seeded
    with browser(1280, 900) as driver:
        open_console(driver, running, token(running, "acme", admin=True))
        wait_for(driver, "return document.querySelectorAll('#queue-list .item').length > 0")
        assert driver.current_url.endswith("/console")  # the token left the address bar
        # the queue: needs_review first, exactly the tenant's records that need review
        assert sorted(queue_emails(driver)) == sorted(seeded["acme_review"])
        assert not set(queue_emails(driver)) & set(seeded["globex"])
        # every form control has a label
        assert driver.execute_script(
            "return [...document.querySelectorAll('input, select, textarea')].every(e => e.labels.length > 0)"
        )
        # filter by status
        driver.execute_script(
            "const s = document.getElementById('status'); s.value = 'verified';s.dispatchEvent(new Event('change'))"
        )
        wait_for(
            driver,
            "return [...document.querySelectorAll('#queue-list .item')].some(b => b.dataset.email === arguments[0])",
            30,
            seeded["acme_verified"][0],
        )
        driver.execute_script(
            "const s = document.getElementById('status'); s.value = 'needs_review';s.dispatchEvent(new Event('change'))"
        )
        wait_for(driver, "return document.querySelector(`.item[data-email='${arguments[0]}']`)", 30, seeded["swapped"])

        # a record, opened from the keyboard: its images (loaded from their view_url), checks, reasons, history
        item = driver.find_element("css selector", f".item[data-email='{seeded['swapped']}']")
        driver.execute_script("arguments[0].focus()", item)
        from selenium.webdriver.common.keys import Keys

        item.send_keys(Keys.ENTER)
        kinds = wait_for(
            driver,
            "const imgs = [...document.querySelectorAll('#images img')];"
            "return imgs.length && imgs.every(i => i.complete && i.naturalWidth > 0) && "
            "[...document.querySelectorAll('#images figcaption')].map(c => c.textContent)",
        )
        assert kinds == ["ID, front", "ID, back", "Selfie", "Face on the ID"]  # the ID portrait, kept for audit
        assert driver.switch_to.active_element.get_attribute("id") == "record-title"
        text = driver.find_element("id", "record").text
        assert "Needs review" in text and "the selfie matches the photo on the ID" in text
        assert "evidence." not in text  # the hashes of what was checked are not a check
        reasons = driver.find_element("id", "reasons").text  # the swapped names: why it waits for a person
        assert "first name" in reasons and "last name" in reasons and "(review)" in reasons
        history = driver.find_elements("css selector", "#events tbody tr")
        assert len(history) == 2 and "automatic verification" in history[1].text

        # the decision: rejected, final, with a reason
        driver.find_element("id", "decide").click()
        assert "Choose verified or rejected" in driver.find_element("id", "decision-error").text
        driver.find_element("id", "outcome-rejected").click()
        driver.find_element("id", "reason").send_keys("The ID was reported stolen")
        assert driver.find_element("id", "final").is_selected()
        driver.find_element("id", "decide").click()
        wait_for(driver, "return document.querySelector('#events tbody').textContent.includes('admin:')")
        assert driver.find_element("id", "notice").text == "Decision recorded: Rejected."
        assert "Final: the customer may not submit again." in driver.find_element("id", "record-status").text
        wait_for(driver, "return !document.querySelector(`.item[data-email='${arguments[0]}']`)", 30, seeded["swapped"])

    # the decision, as the REST routes tell it, and as it stands against the customer
    admin = {"Authorization": f"Bearer {token(running, 'acme', admin=True)}"}
    base = f"{running.api}/kyc/stage/local/tenant/acme/email/{quote(seeded['swapped'], safe='')}"
    [record] = requests.get(base, headers=admin, timeout=10).json()["records"]
    assert record["validation_status"] == "rejected" and record["decision_final"] is True
    assert record["reasons"] == ["The ID was reported stolen"] and record["decided_by"].startswith("admin:")
    events = requests.get(f"{base}/events", headers=admin, timeout=10).json()["events"]
    assert [(e["from"], e["to"]) for e in events][-1] == ("needs_review", "rejected")
    user = {"Authorization": f"Bearer {token(running, 'acme', seeded['swapped'])}"}
    body = {k: record[k] for k in ("email", "first_name", "last_name", "date_of_birth", "id_type", "id_value")}
    body["document_links"] = [  # what the customer sent (the ID portrait is the service's own link)
        {"kind": link["kind"], "key": link["key"]} for link in record["document_links"] if link["kind"] != "id_portrait"
    ]
    again = requests.post(
        f"{running.api}/kyc/stage/local/tenant/acme/create_or_update",
        headers=user,
        json=dict(body, phone_number="+15555550199"),
        timeout=10,
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "decision_final"


def test_a_users_token_sees_nothing_and_another_tenant_sees_only_its_own(running):
    seeded = running.seeded
    with browser(390, 844) as driver:
        open_console(driver, running, token(running, "acme", seeded["noselfie"]))
        wait_for(driver, "return document.getElementById('notice').textContent.includes('not an admin')")
        assert queue_emails(driver) == []
        assert not driver.find_element("id", "workspace").is_displayed()
        assert "@example.com" not in driver.find_element("tag name", "main").text

        open_console(driver, running, token(running, "globex", admin=True))
        wait_for(driver, "return document.querySelectorAll('#queue-list .item').length > 0")
        assert queue_emails(driver) == seeded["globex"]

        open_console(driver, running, "not-a-token")
        wait_for(driver, "return !document.getElementById('sign-in').hidden")
        assert "kyc_service console" in driver.find_element("id", "sign-in").text


def test_the_console_command_prints_a_signed_in_address(running):
    import os
    import subprocess
    import sys

    from chalicelib.stage import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith(("KYC_", "AWS_"))}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kyc_service",
            "console",
            "--tenant",
            "acme",
            "--api-port",
            str(running.api_port),
            "--aws-port",
            str(running.aws_port),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    url = out.stdout.strip().splitlines()[-1]
    assert url.startswith(f"{running.api}/console#token=")
    bearer = url.split("#token=", 1)[1]
    r = requests.get(
        f"{running.api}/kyc/stage/local/tenant/acme/records?status=needs_review",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=10,
    )
    assert r.status_code == 200
