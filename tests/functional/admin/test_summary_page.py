"""The summary page: tables and SVG bar charts for a period, the same as PDF and CSV; each user sees
the configs they may see only; its sums equal the paid transactions the export page gives for the
same period, to the cent (months are Zurich's: the data straddles month ends)."""

import csv
import io
import shutil
import subprocess
from collections import defaultdict

import pytest

from ...report_data import EXPECTED, EXPECTED_TOTAL, PERIOD, add_report_data

SUMMARY = "/admin/summary/"
WHOLE = {"period": "custom", "from": PERIOD[0], "to": PERIOD[1]}


@pytest.fixture
def data(db, clean_db):
    return db.run(add_report_data)


def table(section) -> dict[str, list[str]]:
    """A month table as {row label: cells} (the total line included)."""
    return {
        row.th.get_text(strip=True): [cell.get_text(strip=True) for cell in row.select("td")]
        for row in section.select("tbody tr, tfoot tr")
    }


def pdf_text(body: bytes, tmp_path) -> str:
    path = tmp_path / "summary.pdf"
    path.write_bytes(body)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_the_page_shows_tables_and_charts_of_the_period(admin_as, data):
    root = admin_as("root", superuser=True)
    page = root.get(SUMMARY, WHOLE)
    html = page.html
    assert html.select_one("#period").get_text() == "01.09.2026 to 30.11.2026"
    assert "Total paid: CHF 278.28" in html.select_one("#total").get_text(" ", strip=True)
    assert table(html.select_one("#overview")) == {
        "Festival": ["13.33", "100.00", "41.50", "154.83"],
        "(no group)": ["0.00", "123.45", "0.00", "123.45"],
        "Total": ["13.33", "223.45", "41.50", "278.28"],
    }
    assert [th.get_text() for th in html.select("#overview thead th")] == [
        "Group",
        "2026-09",
        "2026-10",
        "2026-11",
        "Total",
    ]
    festival = html.select_one("#group-1")
    assert festival.h2.get_text() == "Group Festival: CHF 154.83"
    assert table(festival) == {
        "Bar": ["3.33", "0.00", "1.50", "4.83"],
        "Ticket shop": ["10.00", "100.00", "40.00", "150.00"],
        "Group total": ["13.33", "100.00", "41.50", "154.83"],
    }
    charts = html.select("figure.chart svg")
    assert len(charts) == 3  # the overview, one per group
    assert charts[0]["role"] == "img" and charts[0]["aria-label"] == "Paid per month, by group (CHF)"
    assert "Ticket shop, 2026-10: 100.00 CHF" in [title.get_text() for title in charts[1].select("title")]
    assert "Test shop" not in page.text and "Closed shop" not in page.text  # test mode; switched off, unpaid
    # Left out, but said: a demo where every config is in test mode would show only zeros otherwise.
    note = html.select_one("#test-left-out").get_text(" ", strip=True)
    assert "Test configs are left out: CHF 999.99 was paid in them" in note and "Include test configs" in note

    page = root.get(SUMMARY, {**WHOLE, "include_test": "on", "transactions": "grouped"})
    assert page.html.select_one("#test-left-out") is None
    assert table(page.html.select_one("#group-1"))["Test shop (test)"] == ["0.00", "999.99", "0.00", "999.99"]
    lists = {section.h2.get_text(" ", strip=True): section for section in page.html.select(".paid-list")}
    assert set(lists) == {"Paid transactions: Festival 7", "Paid transactions: (no group) 1"}
    references = [
        row.select("td")[2].get_text() for row in lists["Paid transactions: Festival 7"].select("tbody tr")
    ]
    assert references == ["b3", "a1", "a2", "t1", "a4", "a3", "b1"]  # oldest first


def test_pdf_and_csv_downloads_hold_the_same_sums(admin_as, data, tmp_path):
    root = admin_as("root", superuser=True)
    page = root.get(SUMMARY, WHOLE)
    pdf = root.get(page.html.select_one("#pdf")["href"])
    assert pdf.content_type == "application/pdf" and pdf.body.startswith(b"%PDF-")
    assert pdf.headers["Content-Disposition"] == 'attachment; filename="Summary_2026-09-01_2026-11-30.pdf"'
    if shutil.which("pdftotext"):  # poppler-utils (.ci/run installs it)
        text = pdf_text(pdf.body, tmp_path)
        assert "Total paid: CHF 278.28" in text and "Ticket shop" in text and "Club fees" in text

    download = root.get(page.html.select_one("#csv")["href"])
    assert (
        download.headers["Content-Disposition"] == 'attachment; filename="Summary_2026-09-01_2026-11-30.csv"'
    )
    rows = list(csv.reader(io.StringIO(download.body.decode("utf-8"))))
    assert rows[0] == ["group", "config", "config_name", "2026-09", "2026-10", "2026-11", "total"]
    assert rows[-1] == ["", "", "(total)", "13.33", "223.45", "41.50", "278.28"]
    by_config = {int(row[1]): row[3:6] for row in rows[1:] if row[1]}
    cents = {key: [int(value.replace(".", "")) for value in by_config[data[key]]] for key in EXPECTED}
    assert cents == {key: list(months) for key, months in EXPECTED.items()}


def test_sums_equal_the_exported_paid_transactions_to_the_cent(admin_as, data):
    """The acceptance check of issue 7, through the pages: summary CSV against export CSV."""
    root = admin_as("root", superuser=True)
    export = root.get(
        "/admin/exports/download", {"config": "all", "format": "csv", "only_good": "on", **WHOLE}
    )
    paid: dict[str, int] = defaultdict(int)
    for row in csv.DictReader(io.StringIO(export.body.decode("utf-8"))):
        if row["postfinance_status"] == "9":
            paid[row["config"]] += int(row["amount"])
    summary = root.get("/admin/summary/summary.csv", {**WHOLE, "include_test": "on"})
    rows = list(csv.reader(io.StringIO(summary.text)))[1:]
    totals = {row[1]: int(row[-1].replace(".", "")) for row in rows if row[1]}  # by config id
    assert {config: cents for config, cents in totals.items() if cents} == dict(paid)
    assert sum(paid.values()) == EXPECTED_TOTAL + 99999  # the test config's payment included


def test_a_member_sees_only_their_configs_sums(admin_as, data, tmp_path):
    alice = admin_as("alice", configs=[data["shop"]])
    page = alice.get(SUMMARY, {**WHOLE, "include_test": "on", "transactions": "list"})
    assert table(page.html.select_one("#overview")) == {
        "Festival": ["10.00", "100.00", "40.00", "150.00"],
        "Total": ["10.00", "100.00", "40.00", "150.00"],
    }
    for other in ("Bar", "Club fees", "Test shop", "b1", "c1", "t1"):
        assert f">{other}<" not in page.text, other
    download = alice.get(
        "/admin/summary/summary.csv", {**WHOLE, "include_test": "on", "transactions": "list"}
    )
    assert "Club fees" not in download.text and "Bar" not in download.text and ",c1," not in download.text
    pdf = alice.get("/admin/summary/summary.pdf", {**WHOLE, "include_test": "on", "transactions": "list"})
    if shutil.which("pdftotext"):
        text = pdf_text(pdf.body, tmp_path)
        assert "Ticket shop" in text and "Club fees" not in text and "Test shop" not in text
        assert "CHF 150.00" in text


def test_a_bad_period_is_a_400_with_the_reason(admin_as, data):
    root = admin_as("root", superuser=True)
    cases = [
        ({"period": "custom", "from": "2026-11-30", "to": "2026-09-01"}, "is after the end date"),
        ({"period": "custom", "from": "2000-01-01", "to": "2026-09-01"}, "at most 120 months"),
        ({"period": "decade"}, "Choose a period."),
        ({"period": "this-year", "transactions": "all"}, "Choose how to list the paid transactions."),
    ]
    for fields, message in cases:
        page = root.get(SUMMARY, fields, status=400)
        assert message in page.html.select_one("#summary-error").get_text(), fields
        assert page.html.select_one("figure.chart") is None
        for download in ("summary.pdf", "summary.csv"):
            refused = root.get(SUMMARY + download, fields, status=400)
            assert message in refused.text and refused.content_type == "text/html", (fields, download)


def test_the_summary_page_shows_refunded_and_net(admin_as, make_config, db):
    from datetime import UTC, datetime

    from polybanking.models import Transaction

    shop = make_config(name="Shop", test_mode=False)

    def add(session):
        session.add(
            Transaction(
                config_id=shop.id, reference="part", amount=2000, postfinance_status="9", refunded_amount=500,
                refund_reserved=500, creation_date=datetime(2026, 10, 6, 12, 0, 0, tzinfo=UTC),
            )
        )  # fmt: skip

    db.run(add)
    root = admin_as("root", superuser=True)
    page = root.get("/admin/summary/?from=2026-10-01&to=2026-10-31")  # dates alone: those days
    assert page.html.select_one("#period").get_text() == "01.10.2026 to 31.10.2026"
    assert "refunded: <strong>CHF 5.00</strong>; net: <strong>CHF 15.00</strong>" in page.text
    assert 'id="refunds"' in page.text and "Net (paid less refunded)" in page.text
