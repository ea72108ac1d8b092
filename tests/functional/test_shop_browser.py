"""The example Flask shop (client/httpd.py) next to `make run`, in a real browser, set up as the
README says: the shop's config created with `polybanking config create`, its keys put into a copy
of client/config.py.dist, `python client/httpd.py` started.

A person pays on the shop, goes through the gateway to the sandbox, clicks "pay", lands on the
shop's success page (which reads the transaction through the API), and the shop has received and
verified the IPN the worker delivered. Screenshots of each step are saved in the test's temporary
folder.
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..browser import demo_gateway, free_port, launch_chromium, serving, skip_without_chromium

skip_without_chromium()

CLIENT = Path(__file__).resolve().parents[2] / "client"


def shop_settings_file(path: Path, values: dict[str, object]) -> Path:
    """client/config.py.dist with ``values`` filled in, as a person would after copying it."""
    text = (CLIENT / "config.py.dist").read_text()
    for name, value in values.items():
        text, count = re.subn(rf"^{name} = .*$", f"{name} = {value!r}", text, flags=re.MULTILINE)
        assert count == 1, f"{name} is not in config.py.dist"
    path.write_text(text)
    return path


@pytest.fixture
def shop(tmp_path, base_settings):
    """The gateway as `make run` serves it, and the example shop configured against it."""
    with demo_gateway(tmp_path, base_settings) as (gateway, cli):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        created = subprocess.run(
            [*cli, "config", "create", "--reuse", "--name", "Example shop", "--url-ipn", f"{url}/ipn",
             "--url-back-ok", f"{url}/back/ok", "--url-back-err", f"{url}/back/err", "--json"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        keys = json.loads(created.stdout)
        settings = shop_settings_file(
            tmp_path / "shop-config.py",
            {
                "POLYBANKING_SERVER": gateway,
                "CONFIG_ID": str(keys["id"]),
                "KEY_REQUESTS": keys["key_request"],
                "KEY_IPN": keys["key_ipn"],
                "KEY_API": keys["key_api"],
                "PORT": port,
            },
        )
        command = [sys.executable, str(CLIENT / "httpd.py")]
        environment = {"POLYBANKING_SHOP_CONFIG": str(settings), "PATH": "/usr/bin:/bin"}
        with serving(command, f"{url}/", tmp_path / "shop.log", env=environment):
            yield url


def test_a_person_pays_on_the_example_shop(shop, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(f"{shop}/")
            page.fill("input[name=amount]", "23.40")
            page.screenshot(path=tmp_path / "1-shop.png")
            page.click("button[type=submit]")

            # The shop redirected to the gateway's go page, which posted itself to PostFinance's page.
            page.wait_for_url("**/sandbox/ncol/test/orderstandard_utf8.asp")
            assert "Payment of CHF 23.40" in page.inner_text("h1")
            page.screenshot(path=tmp_path / "2-sandbox.png")
            page.click("button[value=pay]")

            page.wait_for_url(f"{shop}/back/ok")
            assert "succeeded" in page.inner_text("#outcome")
            reference = page.inner_text("#transactions li")
            assert reference.startswith("shop-")
            detail = page.inner_text("#detail")
            assert re.search(rf"reference\s+{re.escape(reference)}", detail)
            assert re.search(r"amount\s+2340\b", detail) and re.search(r"amount_chf\s+23\.4\b", detail)
            assert re.search(r"postfinance_status\s+9\b", detail)
            logs = page.inner_text("#logs")
            assert "Transaction created" in logs and "User forwarded" in logs
            page.screenshot(path=tmp_path / "3-back.png", full_page=True)

            # The worker delivers the IPN a moment later; the shop checked it with check_ipn.
            deadline = time.monotonic() + 30
            while "valid" not in page.inner_text("body") and time.monotonic() < deadline:
                time.sleep(0.5)
                page.reload()
            page.screenshot(path=tmp_path / "4-ipn.png", full_page=True)
            rows = page.inner_text("#ipns").splitlines()[1:]
            assert rows, "the shop received no IPN"
            cells = rows[0].split("\t")
            assert cells[:3] == [reference, "9", "True"] and cells[-1] == "valid", rows
            assert re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", cells[3])
            assert not any("INVALID" in row for row in rows)
        finally:
            browser.close()
