"""Layout in a real browser (issue 17): at 1280 px, the usual laptop width, the summary's month
tables show every column (December and Total were hidden behind a sideways scroll).

Debian's Chromium driven by Playwright (tests/browser.py); screenshots go to the test's folder.
"""

from datetime import UTC, datetime

import pytest

from polybanking.models import Config, Transaction

from ...browser import launch_chromium, skip_without_chromium
from .conftest import PASSWORD

skip_without_chromium()

YEAR = 2025  # a whole past year: twelve month columns, whatever today is


@pytest.fixture
def a_busy_year(db, clean_db):
    """Two groups of live configs with large sums paid in every month (CHF 23'456.78 a config, a
    year's total CHF 844'444.08: wide cells)."""

    def add(session):
        names = [("Festival", "Ticket shop with a long name"), ("Festival", "Bar"), ("", "Club fees")]
        for group, name in names:
            config = Config(name=name, group=group, test_mode=False)
            for month in range(1, 13):
                session.add(
                    Transaction(
                        config=config,
                        reference=f"{name}-{month}",
                        amount=2_345_678,
                        postfinance_status="9",
                        creation_date=datetime(YEAR, month, 15, 12, tzinfo=UTC),
                    )
                )

    db.run(add)


def test_the_summary_at_1280_px_shows_every_column(app, live_server, make_user, a_busy_year, tmp_path):
    from playwright.sync_api import sync_playwright

    make_user("root", superuser=True)
    base = live_server.url
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/admin/login")
            page.fill("#username", "root")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/admin/")
            page.goto(f"{base}/admin/summary/?period=custom&from={YEAR}-01-01&to={YEAR}-12-31")
            page.screenshot(path=tmp_path / "summary-1280.png", full_page=True)
            tables = page.locator(".table-wrap table")
            assert tables.count() == 3  # the overview and one per group
            for index in range(tables.count()):
                table = tables.nth(index)
                headers = table.locator("thead th").all_inner_texts()
                assert headers[-2:] == [f"{YEAR}-12", "Total"]
                wrap = table.locator("xpath=..")
                overflow = wrap.evaluate("element => element.scrollWidth - element.clientWidth")
                assert overflow <= 0, f"table {index} scrolls sideways by {overflow} px"
                right = table.locator("thead th").last.bounding_box()
                assert right["x"] + right["width"] <= 1280
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        finally:
            browser.close()


def test_the_sandbox_lists_its_operations_newest_first_inside_its_card(
    app, live_server, testapp, make_config, monkeypatch, tmp_path
):
    """PAYIDs are random: a later payment may have a smaller one. The list is by time, and its table
    stays within the page's card at 1280 px."""
    from playwright.sync_api import sync_playwright

    from polybanking.sandbox.epayment import views as sandbox_views

    from ...platforms import pay_through_sandbox

    pay_ids = iter(["3900000000", "3100000000"])  # the second payment gets the smaller PAYID
    monkeypatch.setattr(sandbox_views, "new_pay_id", lambda: next(pay_ids))
    config = make_config()
    pay_through_sandbox(testapp, config, "pay", reference="first")
    pay_through_sandbox(testapp, config, "pay", reference="second")
    page_html = testapp.get("/sandbox/ncol/test/transactions").html
    assert "newest first" in page_html.text
    ids = [row.td.get_text() for row in page_html.select("#transactions tr") if row.td]
    mine = ["3100000000/0", "3900000000/0"]  # the ledger also holds other tests' operations
    assert [pay_id for pay_id in ids if pay_id in mine] == mine

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{live_server.url}/sandbox/ncol/test/transactions")
            page.screenshot(path=tmp_path / "sandbox-1280.png", full_page=True)
            card = page.locator("main").bounding_box()
            table = page.locator("#transactions").bounding_box()
            assert table["x"] + table["width"] <= card["x"] + card["width"]
            assert page.evaluate("document.documentElement.scrollWidth") <= 1280
        finally:
            browser.close()
