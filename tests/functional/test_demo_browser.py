"""`make run`'s promise, in a real browser: `polybanking demo` serves the gateway, the sandbox, the demo
shop and a worker; a person pays in the sandbox and lands back on the shop, which got a valid IPN.

Debian's Chromium driven by Playwright (never a downloaded browser). Screenshots of each step are
saved in the test's temporary folder.
"""

import re
import time

import pytest

from ..browser import demo_gateway, launch_chromium, skip_without_chromium

skip_without_chromium()


@pytest.fixture
def demo(tmp_path, base_settings):
    """`polybanking demo` on its own SQLite database and port, as `make run` starts it."""
    with demo_gateway(tmp_path, base_settings) as (url, _cli):
        yield url


def test_a_person_pays_in_the_sandbox(demo, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(f"{demo}/")  # where a new user starts: the README's URL
            page.click("text=Demo shop")
            page.wait_for_url("**/sandbox/shop/")
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
            # People read the organisation's time with its offset; the UTC value sent is beside it.
            assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+0[12]:00 \(sent as [^)]*\+00:00\)", row), row
        finally:
            browser.close()


def test_a_person_pays_with_twint_through_checkout(demo, tmp_path):
    """The demo's second config is on Checkout: the shopper chooses it and pays with TWINT."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(f"{demo}/sandbox/shop/")
            page.fill("input[name=amount]", "7.20")
            page.check("input[name=platform][value=checkout]")
            page.click("button[type=submit]")

            page.wait_for_url("**/sandbox/checkout/pay/*")
            assert "Payment of CHF 7.20" in page.inner_text("h1")
            page.check("input[name=method][value=TWINT]")
            page.screenshot(path=tmp_path / "1-checkout.png")
            page.click("button[value=fulfill]")

            page.wait_for_url("**/sandbox/shop/back/ok")
            assert "success" in page.inner_text("#outcome")
            deadline = time.monotonic() + 30
            while "\t9\tTrue\t" not in page.inner_text("body") and time.monotonic() < deadline:
                time.sleep(0.5)
                page.reload()
            page.screenshot(path=tmp_path / "2-ipn.png")
            row = page.inner_text("#ipns")
            assert "\t9\tTrue\t" in row and "INVALID" not in row
        finally:
            browser.close()
