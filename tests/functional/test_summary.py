"""The treasurer's summary: sums per group, config and Zurich month, equal to the exported
payments to the cent; its CSV; and its PDF, rendered to PNG and looked at."""

import csv
import io
import os
import shutil
import subprocess
from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from polybanking.models import Transaction
from polybanking.services.reports.exports import export
from polybanking.services.reports.period import PeriodError, custom_period
from polybanking.services.reports.summary.as_csv import summary_csv, summary_filename
from polybanking.services.reports.summary.as_pdf import render_pdf
from polybanking.services.reports.summary.charts import PALETTE
from polybanking.services.reports.summary.summary import build_summary

from ..report_data import (
    EXPECTED,
    EXPECTED_GROUPS,
    EXPECTED_TEST,
    EXPECTED_TOTAL,
    PERIOD,
    add_report_data,
    utc,
)

ZURICH = ZoneInfo("Europe/Zurich")
WHOLE = custom_period(*PERIOD, ZURICH)
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def data(db, clean_db):
    return db.run(add_report_data)


def summarise(db, **options):
    return db.run(lambda session: build_summary(session, WHOLE, now=NOW, **options))


def lines_by_config(summary) -> dict[int, tuple[int, ...]]:
    return {line.config_id: line.months for group in summary.groups for line in group.configs}


def test_sums_per_config_group_and_month(data, db):
    summary = summarise(db)
    assert [month.label for month in summary.months] == ["2026-09", "2026-10", "2026-11"]
    assert lines_by_config(summary) == {data[key]: months for key, months in EXPECTED.items()}
    assert {group.name: group.months for group in summary.groups} == EXPECTED_GROUPS
    assert [group.label for group in summary.groups] == ["Festival", "(no group)"]
    assert summary.total == EXPECTED_TOTAL
    assert summary.month_totals == (1333, 22345, 4150)
    assert all(isinstance(cents, int) for line in lines_by_config(summary).values() for cents in line)
    assert summary.generated_at == datetime(2026, 12, 1, 9, 0, tzinfo=ZURICH)


def test_test_configs_only_when_asked(data, db):
    summary = summarise(db, include_test=True)
    expected = {**EXPECTED, **EXPECTED_TEST}
    assert lines_by_config(summary) == {data[key]: months for key, months in expected.items()}
    assert summary.total == EXPECTED_TOTAL + 99999


def test_a_closed_config_shows_only_if_it_was_paid(data, db):
    assert data["dead"] not in lines_by_config(summarise(db))
    db.run(
        lambda session: session.add(
            Transaction(
                config_id=data["dead"],
                reference="d1",
                amount=7,
                postfinance_status="9",
                creation_date=utc(2026, 9, 9),
            )
        )
    )
    assert lines_by_config(summarise(db))[data["dead"]] == (7, 0, 0)


def test_summary_equals_the_exported_paid_transactions_to_the_cent(data, db, app):
    """Acceptance: for the same period, the summary's sums are the sums of the paid transactions
    of the export, each counted in its Zurich month (a 23:30 UTC payment on 31 October is
    November's), for every config, group and in total."""
    spec = db.run(lambda session: export.build_spec(session, "csv", WHOLE, None))
    rows = list(csv.DictReader(io.StringIO(b"".join(export.stream(app.registry["dbengine"], spec)).decode())))
    summary = summarise(db, include_test=True)
    labels = [month.label for month in summary.months]

    exported: dict[int, list[int]] = defaultdict(lambda: [0] * len(labels))
    for row in rows:
        if row["postfinance_status"] != "9":
            continue
        created = datetime.fromisoformat(row["creation_date"]).astimezone(ZURICH)
        exported[int(row["config"])][labels.index(f"{created:%Y-%m}")] += int(row["amount"])
        assert int(row["amount"]) == round(float(row["amount_chf"]) * 100)

    assert lines_by_config(summary) == {config: tuple(months) for config, months in exported.items()}
    for group in summary.groups:
        assert group.total == sum(sum(exported[line.config_id]) for line in group.configs)
    assert summary.total == sum(map(sum, exported.values())) == EXPECTED_TOTAL + 99999
    november = labels.index("2026-11")
    assert exported[data["shop"]][november] == 4000  # a3, created 31 October 23:30 UTC


def test_transactions_listed_by_group_or_in_one_list(data, db):
    grouped = summarise(db, transactions="grouped")
    assert list(grouped.transactions) == ["Festival", "(no group)"]
    festival = grouped.transactions["Festival"]
    assert [entry.reference for entry in festival] == ["b3", "a1", "a2", "a4", "a3", "b1"]
    assert festival[-2].created == datetime(2026, 11, 1, 0, 30, tzinfo=ZURICH)
    assert sum(entry.amount for entry in festival) == sum(EXPECTED_GROUPS["Festival"])
    one = summarise(db, transactions="list")
    assert list(one.transactions) == ["All"]
    assert len(one.transactions["All"]) == 7
    assert summarise(db).transactions == {}


def test_summary_refuses_what_it_cannot_do(db, clean_db):
    with pytest.raises(ValueError, match="transactions must be"):
        summarise(db, transactions="some")
    decades = custom_period("2000-01-01", "2026-12-31", ZURICH)
    with pytest.raises(PeriodError, match="at most 120 months"):
        db.run(lambda session: build_summary(session, decades))


def test_summary_csv(data, db):
    summary = summarise(db, transactions="list")
    rows = list(csv.reader(io.StringIO("".join(summary_csv(summary)))))
    assert rows[0] == ["group", "config", "config_name", "2026-09", "2026-10", "2026-11", "total"]
    assert ["Festival", str(data["shop"]), "Ticket shop", "10.00", "100.00", "40.00", "150.00"] in rows
    assert ["Festival", "", "(group total)", "13.33", "100.00", "41.50", "154.83"] in rows
    assert ["", "", "(total)", "13.33", "223.45", "41.50", "278.28"] in rows
    blank = rows.index([])
    assert rows[blank + 1] == ["list", "group", "config", "config_name", "reference", "created", "amount_chf"]
    assert [
        "All",
        "Festival",
        str(data["shop"]),
        "Ticket shop",
        "a3",
        "2026-11-01 00:30:00+01:00",
        "40.00",
    ] in rows
    assert summary_filename(summary, "csv") == "Summary_2026-09-01_2026-11-30.csv"


PDFTOPPM = shutil.which("pdftoppm")


@pytest.mark.skipif(
    not PDFTOPPM and not os.environ.get("CI"), reason="poppler-utils missing (.ci/run installs it)"
)
def test_pdf_shows_the_table_and_the_chart(data, db, tmp_path):
    """The PDF opens in poppler, and its first page shows the overview table and the bar chart."""
    summary = summarise(db, transactions="grouped")
    pdf = tmp_path / "summary.pdf"
    pdf.write_bytes(render_pdf(summary))
    subprocess.run([PDFTOPPM or "pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    # Overview, one page per group (2), one per list of transactions (2).
    assert len(pages) == 5

    text = subprocess.run(
        ["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for words in (
        "Summary of payments",
        "Paid per month, by group (CHF)",
        "Group",
        "2026-11",
        "Festival",
        "(no group)",
        "Total",
        "278.28",
        "223.45",
        "154.83",
    ):
        assert words in text, words

    image = Image.open(pages[0]).convert("RGB")
    colours = image.getcolors(maxcolors=image.width * image.height)
    counts = {colour: count for count, colour in colours}

    def pixels_near(hex_colour: str) -> int:
        target = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        return sum(
            n
            for colour, n in counts.items()
            if max(abs(a - b) for a, b in zip(colour, target, strict=True)) < 12
        )

    # The bars: Festival's and the no-group colour cover visible areas of the page.
    assert pixels_near(PALETTE[0]) > 500 and pixels_near(PALETTE[1]) > 200
    group_text = subprocess.run(
        ["pdftotext", "-f", "2", "-l", "2", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Ticket shop" in group_text and "Festival: paid per month, by config (CHF)" in group_text


def test_pdf_of_an_empty_period_and_any_name(db, make_config):
    make_config(name="Zürich ✓ Łódź 東京 <b>&", test_mode=False)
    summary = db.run(
        lambda session: build_summary(session, custom_period("2026-01-01", "2026-01-31", ZURICH))
    )
    content = render_pdf(summary)
    assert content.startswith(b"%PDF-") and b"%%EOF" in content[-32:]


def test_refunds_show_as_refunded_and_net_per_group_and_month(db, make_config):
    shop = make_config(name="Shop", group="Festival", test_mode=False)

    def add(session):
        for reference, status, amount, refunded, day in (
            ("kept", "9", 1000, 0, 5),
            ("part", "9", 2000, 500, 6),
            ("all", "8", 3000, 3000, 7),  # refunded in full: was paid, counts as paid and refunded
            ("refused", "2", 4000, 0, 8),
        ):
            session.add(
                Transaction(
                    config_id=shop.id, reference=reference, amount=amount, postfinance_status=status,
                    refunded_amount=refunded, refund_reserved=refunded,
                    creation_date=utc(2026, 10, day, 12, 0, 0),
                )
            )  # fmt: skip

    db.run(add)
    summary = summarise(db)
    (group,) = summary.groups
    assert (group.months, group.refunded) == ((0, 6000, 0), (0, 3500, 0))
    assert (summary.total, summary.refunded, summary.net) == (6000, 3500, 2500)
    assert (group.total, group.refunded_total, group.net) == (6000, 3500, 2500)
    text = "".join(summary_csv(summary))
    assert ",,(refunded),0.00,35.00,0.00,35.00" in text
    assert ",,(net),0.00,25.00,0.00,25.00" in text
    assert "Festival,,(group net),0.00,25.00,0.00,25.00" in text
    assert render_pdf(summary).startswith(b"%PDF")
