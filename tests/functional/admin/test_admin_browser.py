"""The admin pages in a real browser (Debian's Chromium driven by Playwright): sign in, create a
config, find a sandbox payment by its reference, open its log, resend its IPN, sign out.

Every page visited passes axe-core's WCAG 2.1 A/AA rules (labels, contrast, landmarks …), run from
the vendored copy in tests/vendor/axe-core, and no page logs a Content-Security-Policy violation.
Screenshots of each step go to the test's temporary folder (or $PB_SCREENSHOT_DIR).
"""

import os
import re
import shutil
from pathlib import Path

import pytest
import requests

from ...browser import CHROMIUM, launch_chromium
from ...reports import FIXTURE
from ...website import website_sign
from .conftest import PASSWORD

AXE = Path(__file__).resolve().parents[2] / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

if not shutil.which(CHROMIUM) and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)


class Visit:
    """The browser page, with an accessibility check and a screenshot at each step."""

    def __init__(self, page, folder: Path):
        self.page = page
        self.folder = folder
        self.step = 0
        self.checked: list[str] = []
        self.csp_violations: list[str] = []
        page.on("console", self._console)

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.csp_violations.append(message.text)

    def check(self, name: str) -> None:
        self.step += 1
        self.page.screenshot(path=self.folder / f"{self.step:02d}-{name}.png", full_page=True)
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            # Evaluated through the DevTools protocol, so the pages' CSP (no inline script) stays on.
            self.page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
        result = self.page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            AXE_TAGS,
        )
        problems = [
            f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["html"][:120] for n in v["nodes"][:3])
            for v in result["violations"]
        ]
        assert problems == [], f"{name} ({self.page.url}):\n" + "\n".join(problems)
        self.checked.append(name)


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get("PB_SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_an_administrator_finds_a_payment_and_resends_its_ipn(
    app, live_server, clean_db, make_user, receiver, screenshots
):
    from playwright.sync_api import sync_playwright

    make_user("root", superuser=True)
    base = live_server.url
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            visit = Visit(page, screenshots)

            page.goto(f"{base}/admin/")  # sent to sign in
            page.wait_for_url("**/admin/login?next=*")
            visit.check("login")
            page.fill("#username", "wrong")
            page.fill("#password", "wrong password")
            page.click("button[type=submit]")
            assert "Wrong username or password" in page.inner_text("main")
            visit.check("login-error")
            page.fill("#username", "root")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/admin/")
            visit.check("home")

            # Create a config.
            page.click("nav >> text=Configs")
            visit.check("configs")
            page.click("text=New config")
            visit.check("config-new")
            page.fill("#f-name", "Browser shop")
            page.fill("#f-url_ipn", receiver.url)
            page.fill("#f-url_back_ok", f"{base}/sandbox/shop/back/ok")
            page.fill("#f-url_back_err", f"{base}/sandbox/shop/back/err")
            page.fill("#f-max_amount", "1000")
            page.click("main button[type=submit]")
            page.wait_for_url(re.compile(r".*/admin/configs/\d+/$"))
            assert "Config “Browser shop” created" in page.inner_text("main")
            page.click("text=Show the keys")
            visit.check("config-show")
            config_id = re.search(r"/admin/configs/(\d+)/", page.url).group(1)
            key_request = page.inner_text("#key_request").strip()

            for path, name in (
                (f"/admin/configs/{config_id}/edit", "config-edit"),
                (f"/admin/configs/{config_id}/log", "config-log"),
                (f"/admin/configs/{config_id}/users", "config-users"),
                (f"/admin/configs/{config_id}/keys/key_api", "config-key-confirm"),
                ("/admin/users/", "users"),
                ("/admin/users/new", "user-new"),
            ):
                page.goto(base + path)
                visit.check(name)

            # Compare PostFinance's report (the shared sample): the stored run's result, the list.
            page.goto(f"{base}/admin/")
            page.click("nav >> text=Reconciliation")
            page.click("text=Compare a report")
            visit.check("reconciliation-upload")
            page.set_input_files("#f-report", str(FIXTURE))
            page.check("input[name=environment][value=test]")
            page.click("main button[type=submit]")
            page.wait_for_url(re.compile(r".*/admin/reconciliation/\d+/$"))
            assert "webshop-77" in page.inner_text("#section-foreign")
            visit.check("reconciliation-run")
            page.click("text=All runs")
            assert "postfinance-report.csv" in page.inner_text("main table")
            visit.check("reconciliation-runs")

            # The website starts a payment; the shopper pays in the sandbox.
            params = {
                "amount": "4200",
                "reference": "browser-42",
                "extra_data": "seat 12",
                "config_id": config_id,
            }
            params["sign"] = website_sign(key_request, params)
            start = requests.post(f"{base}/paiements/start/", data=params, timeout=10).json()
            assert start["status"] == "OK"
            shopper = browser.new_page()
            shopper.goto(start["url"])
            shopper.wait_for_url("**/sandbox/ncol/test/orderstandard_utf8.asp")
            shopper.click("button[value=pay]")
            shopper.wait_for_url("**/sandbox/shop/back/ok")
            shopper.close()
            assert receiver.wait_for(1)[0]["reference"] == "browser-42"

            page.goto(f"{base}/admin/")
            assert "CHF 42.00" in page.inner_text("main")  # today's takings
            assert "postfinance-report.csv" in page.inner_text("#latest-run")
            page.click("nav >> text=Exports")
            visit.check("exports")
            page.click("nav >> text=Summary")
            page.check("input[name=include_test]")
            page.select_option("#f-transactions", "list")
            page.click("form[aria-label='Summary options'] button[type=submit]")
            page.wait_for_url("**include_test=on*")
            assert "CHF 42.00" in page.inner_text("#total")
            assert page.locator("figure.chart svg").count() == 2  # the overview and the group's
            visit.check("summary")
            visit.check("home-with-takings")
            page.goto(f"{base}/admin/users/")
            page.click("main >> text=root")
            visit.check("user-edit")
            page.goto(f"{base}/admin/configs/999999/")
            visit.check("not-found")

            # Find it by its reference, open its log, resend its IPN.
            page.goto(f"{base}/admin/transactions/")
            page.fill("#q", "browser")
            page.click("form[role=search] button[type=submit]")
            page.wait_for_url("**q=browser*")
            assert "1 transaction," in page.inner_text("#count")
            visit.check("transactions")
            page.click("text=browser-42")
            page.wait_for_url(re.compile(r".*/admin/transactions/\d+/$"))
            log = page.inner_text("#event-log")
            for event in (
                "Transaction created",
                "User forwarded",
                "Postfinance status changed",
                "IPN Success",
            ):
                assert event in log
            assert "CHF 42.00" in page.inner_text("main") and "seat 12" in page.inner_text("main")
            visit.check("transaction")
            page.click("text=Resend IPN")
            page.wait_for_selector("text=will be sent again")
            assert len(receiver.wait_for(2)) == 2
            page.reload()
            assert page.inner_text("#ipn-attempts").count("accepted") == 2
            visit.check("transaction-resent")

            # A narrow phone screen.
            page.set_viewport_size({"width": 375, "height": 740})
            page.goto(f"{base}/admin/transactions/")
            visit.check("transactions-phone")

            page.click("text=Sign out")
            page.wait_for_url("**/admin/login")
            page.goto(f"{base}/admin/")
            page.wait_for_url("**/admin/login?next=*")
            visit.check("signed-out")
            assert visit.csp_violations == []
        finally:
            browser.close()
    assert len(list(screenshots.glob("*.png"))) == len(visit.checked) >= 25
