"""`make run`'s promise, in a real browser: `polybanking demo` serves the gateway, the sandbox, the demo
shop and a worker; a person pays in the sandbox and lands back on the shop, which got a valid IPN.

Debian's Chromium driven by Playwright (never a downloaded browser). Screenshots of each step are
saved in the test's temporary folder.
"""

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
import requests

from ..conftest import app_settings_for
from ..inifile import write_ini

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not shutil.which(CHROMIUM) and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"demo exited early:\n{process.stdout.read()}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


@pytest.fixture
def demo(tmp_path, base_settings):
    """`polybanking demo` on its own SQLite database and port, as `make run` starts it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = app_settings_for(
        base_settings,
        url,
        **{
            "sqlalchemy.url": f"sqlite:///{tmp_path / 'demo.sqlite'}",
            "huey.backend": "sqlite",
            "huey.filename": str(tmp_path / "demo-huey.sqlite"),
            "huey.immediate": "false",
        },
    )
    ini = write_ini(tmp_path / "demo.ini", settings, listen=f"127.0.0.1:{port}")
    cli = [sys.executable, "-m", "polybanking.scripts.cli", "--ini", ini]
    subprocess.run([*cli, "initdb"], check=True, capture_output=True)
    process = subprocess.Popen([*cli, "demo"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_up(f"{url}/sandbox/shop/", process)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_a_person_pays_in_the_sandbox(demo, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{demo}/sandbox/shop/")
            page.fill("input[name=amount]", "12.50")
            page.screenshot(path=tmp_path / "1-shop.png")
            page.click("button[type=submit]")

            page.wait_for_url("**/sandbox/ncol/test/orderstandard_utf8.asp")
            assert "Payment of CHF 12.50" in page.inner_text("h1")
            page.screenshot(path=tmp_path / "2-sandbox.png")
            page.click("button[value=pay]")

            page.wait_for_url("**/sandbox/shop/back/ok")
            assert "success" in page.inner_text("#outcome")
            page.screenshot(path=tmp_path / "3-back.png")

            # The worker delivers the IPN a moment later; the shop lists it with its signature checked.
            deadline = time.monotonic() + 20
            while "valid" not in (page.inner_text("body")) and time.monotonic() < deadline:
                time.sleep(0.5)
                page.reload()
            row = page.inner_text("#ipns")
            page.screenshot(path=tmp_path / "4-ipn.png")
            assert "\t9\tTrue\t" in row and "valid" in row and "INVALID" not in row
        finally:
            browser.close()
