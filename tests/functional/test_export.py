"""Exports of transactions, streamed from the committed database as the CLI and the pages do."""

import csv
import io
import json
import xml.etree.ElementTree as ET
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from polybanking.models import Transaction, TransactionLog
from polybanking.services.payments.fields import DETAIL_FIELDS, local_dates, log_detail, transaction_detail
from polybanking.services.reports.exports import export
from polybanking.services.reports.exports import rows as export_rows
from polybanking.services.reports.exports import writers as export_writers
from polybanking.services.reports.period import custom_period

from ..report_data import PERIOD, TRANSACTIONS, add_report_data, utc

ZURICH = ZoneInfo("Europe/Zurich")
LOCAL = local_dates(ZURICH)  # the API's dates, with testing.ini's polybanking.timezone
NOVEMBER = custom_period("2026-11-01", "2026-11-30", ZURICH)
WHOLE = custom_period(*PERIOD, ZURICH)


@pytest.fixture
def data(db, clean_db):
    """The straddling transactions, committed (and deleted after the test)."""
    return db.run(add_report_data)


@pytest.fixture
def app_engine(app):
    return app.registry["dbengine"]


@pytest.fixture
def run_export(db, app_engine):
    """``run_export(format, period, config_id=None, only_good=False)`` → the file's bytes."""

    def run(format, period=WHOLE, config_id=None, only_good=False):
        spec = db.run(lambda session: export.build_spec(session, format, period, config_id, only_good))
        return b"".join(export.stream(app_engine, spec))

    return run


def csv_rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def test_csv_of_one_config_has_protocols_columns(data, run_export):
    rows = csv_rows(run_export("csv", config_id=data["shop"]))
    assert list(rows[0]) == list(DETAIL_FIELDS)
    # Oldest first; a 31 October 23:30 UTC payment is in the period, being 1 November in Zurich.
    expected = sorted((t for t in TRANSACTIONS if t[0] == "shop"), key=lambda t: t[2])
    assert [row["reference"] for row in rows] == [
        ("'" + ref if ref.startswith("=") else ref) for _key, ref, *_rest in expected
    ]
    a3 = next(row for row in rows if row["reference"] == "a3")
    assert a3["creation_date"] == "2026-11-01 00:30:00+01:00"  # local, as the API gives it
    assert a3["amount"] == "4000" and a3["amount_chf"] == "40.0"  # as the API gives them
    assert a3["postfinance_status_text"] == "Payment requested" and a3["ipn_needed"] == "False"
    assert a3["last_userforwarded_date"] == ""


def test_csv_neutralises_formulas(data, run_export):
    rows = csv_rows(run_export("csv", config_id=data["shop"]))
    assert "'=a5" in [row["reference"] for row in rows]


def test_csv_of_all_configs_names_the_config(data, run_export):
    rows = csv_rows(run_export("csv", NOVEMBER))
    assert list(rows[0])[:2] == ["config", "config_name"]
    assert [(row["reference"], row["config"], row["config_name"]) for row in rows] == [
        ("a3", str(data["shop"]), "Ticket shop"),
        ("b1", str(data["bar"]), "Bar"),
    ]


def test_period_days_are_zurich_days_both_included(data, run_export):
    one_day = custom_period("2026-10-01", "2026-10-01", ZURICH)  # 30 Sep 22:00 to 1 Oct 22:00 UTC
    assert [row["reference"] for row in csv_rows(run_export("csv", one_day))] == ["a2", "c1"]
    september = custom_period("2026-09-01", "2026-09-30", ZURICH)
    assert [row["reference"] for row in csv_rows(run_export("csv", september))] == ["b3", "a1"]


def test_only_good_payments(data, run_export):
    rows = csv_rows(run_export("csv", config_id=data["shop"], only_good=True))
    assert {row["postfinance_status"] for row in rows} == {"5", "9"}
    assert sorted(row["reference"] for row in rows) == ["'=a5", "a1", "a2", "a3", "a4"]


def test_empty_export_still_has_its_header(data, run_export):
    rows = run_export("csv", custom_period("2026-01-01", "2026-01-31", ZURICH)).decode().splitlines()
    assert rows == [",".join(("config", "config_name", *DETAIL_FIELDS))]
    assert json.loads(run_export("json", custom_period("2026-01-01", "2026-01-31", ZURICH))) == []


def expected_items(session, config_ids=None) -> list[dict]:
    """What the API's functions say about each transaction in the period, from ORM objects."""
    query = (
        select(Transaction)
        .where(Transaction.creation_date >= WHOLE.start_utc, Transaction.creation_date < WHOLE.end_utc)
        .order_by(Transaction.creation_date, Transaction.id)
    )
    items = []
    for transaction in session.scalars(query):
        logs = session.scalars(
            select(TransactionLog)
            .where(TransactionLog.transaction == transaction)
            .order_by(TransactionLog.when)
        )
        item = {"config": str(transaction.config_id), "config_name": transaction.config.name}
        item.update(transaction_detail(transaction, LOCAL))
        item["logs"] = [log_detail(log, LOCAL) for log in logs]
        items.append(item)
    return items


def test_json_holds_each_transaction_with_its_logs_as_the_api_shows_them(data, db, run_export):
    items = json.loads(run_export("json"))
    # Same values as transaction_detail/log_detail on the ORM objects: the dates the database
    # wrote for the export, made local, are the ones the API writes.
    assert items == db.run(expected_items)
    assert len(items) == 11
    assert [log["log_type"] for log in items[0]["logs"]] == ["created", "postfinanceStatus"]


def test_xml_has_the_originals_shape(data, db, run_export):
    root = ET.fromstring(run_export("xml"))
    assert root.tag == "data"
    (export_element,) = list(root)
    assert export_element.tag == "export"
    items = list(export_element)
    assert {item.tag for item in items} == {"item"}
    expected = db.run(expected_items)
    assert len(items) == len(expected)
    for element, item in zip(items, expected, strict=True):
        names = [child.tag for child in element]
        assert names == sorted(names)  # fields in name order, as the original
        for name, value in item.items():
            if name == "logs":
                logs = [{field.tag: field.text or "" for field in log} for log in element.find("logs")]
                assert logs == value
            else:
                assert (element.find(name).text or "") == str(value)


def test_xml_stays_well_formed_with_any_text(db, make_config, run_export):
    config = make_config()

    def add(session):
        session.add(
            Transaction(
                config_id=config.id,
                reference="<&>\"'",
                extra_data="bell\x07 nul-free \x1f end",
                amount=1,
                creation_date=utc(2026, 10, 1),
            )
        )

    db.run(add)
    (item,) = ET.fromstring(run_export("xml", config_id=config.id)).find("export")
    assert item.find("reference").text == "<&>\"'"
    assert item.find("extra_data").text == "bell\ufffd nul-free \ufffd end"


def test_xlsx_keeps_any_text_as_text(db, make_config, run_export):
    config = make_config(name="Shop <&>")

    def add(session):
        session.add(
            Transaction(
                config_id=config.id,
                reference="<&>\"'",
                extra_data="  tab\tnew\nline, =SUM(A1) ",
                amount=1,
                creation_date=utc(2026, 10, 1),
            )
        )

    db.run(add)
    book = openpyxl.load_workbook(io.BytesIO(run_export("xlsx", config_id=config.id)))
    sheet = book["Transactions"]
    header = [cell.value for cell in sheet[1]]
    (values,) = sheet.iter_rows(min_row=2, values_only=True)
    row = dict(zip(header, values, strict=True))
    assert row["reference"] == "<&>\"'"
    assert row["extra_data"] == "  tab\tnew\nline, =SUM(A1) "  # spaces kept, never a formula
    assert row["last_ipn_date (Europe/Zurich)"] is None
    assert dict(book["Export"].iter_rows(values_only=True))["Configs"] == f"Shop <&> (config {config.id})"


def test_xlsx_cells_are_typed(data, run_export):
    book = openpyxl.load_workbook(io.BytesIO(run_export("xlsx")))
    assert book.sheetnames == ["Transactions", "Export"]
    sheet = book["Transactions"]
    header = [cell.value for cell in sheet[1]]
    assert header[:2] == ["config", "config_name"]
    assert "creation_date (Europe/Zurich)" in header
    rows = [dict(zip(header, (cell for cell in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 11
    a3 = next(row for row in rows if row["reference"].value == "a3")
    assert a3["amount_chf"].value == 40.0 and a3["amount_chf"].number_format == "#,##0.00"
    assert a3["amount"].value == 4000 and a3["refunded_amount"].value == 0
    # 23:30 UTC on 31 October is 00:30 on 1 November in Zurich: the date an accountant sees.
    assert a3["creation_date (Europe/Zurich)"].value == datetime(2026, 11, 1, 0, 30)
    assert a3["creation_date (Europe/Zurich)"].is_date
    assert a3["ipn_needed"].value is False
    assert a3["last_userforwarded_date (Europe/Zurich)"].value is None
    formula = next(row for row in rows if row["reference"].value == "=a5")
    assert formula["reference"].data_type == "s"  # text, never a formula
    about = dict(book["Export"].iter_rows(values_only=True))
    assert about["Rows"] == "11" and about["Configs"] == "all configs"


def test_batches_page_through_equal_times_exactly_once(db, make_config, run_export, monkeypatch):
    monkeypatch.setattr(export_rows, "BATCH", 2)
    config = make_config()
    moment = utc(2026, 10, 10, 10, 10, 10)

    def add(session):
        for number in range(7):  # ids in one order, times in another, several equal
            created = moment if number % 2 else utc(2026, 10, 10, 10, 10, 10 - number)
            session.add(
                Transaction(config_id=config.id, reference=f"r{number}", amount=1, creation_date=created)
            )
            session.flush()

    db.run(add)
    references = [row["reference"] for row in csv_rows(run_export("csv", config_id=config.id))]
    assert references == ["r6", "r4", "r2", "r0", "r1", "r3", "r5"]
    items = json.loads(run_export("json", config_id=config.id))
    assert [item["reference"] for item in items] == references


def test_the_file_comes_in_chunks_and_holds_no_lock_between_them(db, app_engine, make_config, monkeypatch):
    monkeypatch.setattr(export_rows, "BATCH", 2)
    monkeypatch.setattr(export_writers, "CHUNK", 1)
    config = make_config()

    def add(session):
        for number in range(6):
            session.add(
                Transaction(
                    config_id=config.id,
                    reference=f"r{number}",
                    amount=1,
                    creation_date=utc(2026, 10, 1, 12, number),
                )
            )

    db.run(add)
    spec = db.run(lambda session: export.build_spec(session, "json", WHOLE, config.id))
    seen = []
    chunks = export.stream(app_engine, spec, seen.append)
    first = next(chunks)
    assert first.startswith(b"[") and seen == [2]
    # A payment arriving while the export is being sent is not held up (SQLite: no lock kept).
    db.run(
        lambda session: session.add(
            Transaction(
                config_id=config.id, reference="late", amount=1, creation_date=utc(2026, 10, 1, 13, 0)
            )
        )
    )
    rest = b"".join(chunks)
    assert seen == [2, 4, 6, 7]
    assert [item["reference"] for item in json.loads(first + rest)][-1] == "late"


def test_file_names(data, db):
    def spec(config_id):
        return db.run(lambda session: export.build_spec(session, "xlsx", NOVEMBER, config_id))

    assert export.filename(spec(None)) == "Export_ALL_2026-11-01_2026-11-30.xlsx"
    assert export.filename(spec(data["shop"])) == "Export_Ticket-shop_2026-11-01_2026-11-30.xlsx"


def test_file_name_of_a_strange_config_name(db, make_config):
    for name, slug in (('Café / Bar: "Été" 2026', "Cafe-Bar-Ete-2026"), ("../../etc", "etc"), ("€€€", None)):
        config = make_config(name=name)
        spec = db.run(lambda session, c=config: export.build_spec(session, "csv", NOVEMBER, c.id))
        expected = slug or f"config-{config.id}"
        assert export.filename(spec) == f"Export_{expected}_2026-11-01_2026-11-30.csv"
        assert export.content_type(spec) == "text/csv; charset=utf-8"


@pytest.mark.parametrize(
    ("format", "config_id", "message"),
    [
        ("pdf", None, "unknown format"),
        ("csv", 999999, "no config"),
        ("csv", 2**40, "no config"),
        ("csv", 0, "no config"),
    ],
)
def test_bad_requests(db, clean_db, format, config_id, message):
    with pytest.raises(export.ExportError, match=message):
        db.run(lambda session: export.build_spec(session, format, NOVEMBER, config_id))


def test_dates_are_right_whatever_the_database_sessions_time_zone(data, db, app_settings):
    """PostgreSQL writes the export's dates itself: a server or role set to another zone must not
    shift them (SQLite stores UTC text, which has no zone to get wrong)."""
    url = app_settings["sqlalchemy.url"]
    if not url.startswith("postgresql"):
        pytest.skip("the session time zone is PostgreSQL's")
    from sqlalchemy import create_engine

    new_york = create_engine(url, connect_args={"options": "-c timezone=America/New_York"})
    try:
        spec = db.run(lambda session: export.build_spec(session, "json", WHOLE, None))
        items = json.loads(b"".join(export.stream(new_york, spec)))
    finally:
        new_york.dispose()
    assert items == db.run(expected_items)
    assert items[0]["creation_date"] == "2026-09-01 00:00:00+02:00"


def test_xlsx_continues_on_a_new_sheet_when_one_is_full(data, run_export, monkeypatch):
    from polybanking.services.reports.exports import xlsx as export_xlsx

    monkeypatch.setattr(export_xlsx, "MAX_DATA_ROWS", 4)
    book = openpyxl.load_workbook(io.BytesIO(run_export("xlsx")))
    assert book.sheetnames == ["Transactions", "Transactions (2)", "Transactions (3)", "Export"]
    references = [
        row[2] for name in book.sheetnames[:3] for row in book[name].iter_rows(min_row=2, values_only=True)
    ]
    assert len(references) == 11 and len(set(references)) == 11
    assert all(book[name]["A1"].value == "config" for name in book.sheetnames[:3])


TRICKY = ["plain", "a,b", 'say "hi"', "line\nbreak", "cr\rlf", "end,", ",", '"', "", " spaced ", "Zürich ✓",
          "tab\tx", "=1+1", "-5", "@sum", "+41", "semi;colon", "\r\n", "a,,b", "'quoted'"]  # fmt: skip
RISKY = ("=", "+", "-", "@", "\t", "\r")


def test_csv_is_exactly_what_csv_writer_writes(db, make_config, run_export):
    """The fast path (joined fields) and csv.writer must agree byte for byte, quotes and all."""
    config = make_config(name='Shop, "the" best')

    def add(session):
        for number, text in enumerate(TRICKY):
            session.add(
                Transaction(
                    config_id=config.id, reference=f"r{number}{text}", extra_data=text, amount=number + 1,
                    brand=text[:60], card=text[:60], postfinance_id=text[:32] or None,
                    creation_date=utc(2026, 10, 1, 12, 0, number),
                )
            )  # fmt: skip

    db.run(add)

    def details(session) -> list[dict]:
        query = (
            select(Transaction).where(Transaction.config_id == config.id).order_by(Transaction.creation_date)
        )
        found = [transaction_detail(transaction, LOCAL) for transaction in session.scalars(query)]
        for fields in found:
            for name in ("reference", "extra_data"):
                if fields[name].startswith(RISKY):
                    fields[name] = "'" + fields[name]
        return found

    expected_details = db.run(details)
    for several in (False, True):
        expected = io.StringIO()
        writer = csv.writer(expected)
        writer.writerow((["config", "config_name"] if several else []) + list(DETAIL_FIELDS))
        prefix = [config.id, 'Shop, "the" best'] if several else []
        writer.writerows([*prefix, *fields.values()] for fields in expected_details)
        content = run_export("csv", config_id=None if several else config.id).decode()
        assert content == expected.getvalue()
        parsed = list(csv.reader(io.StringIO(content, newline="")))[1:]
        extra_data = [row[-17] for row in parsed]
        assert extra_data == [("'" + text if text.startswith(RISKY) else text) for text in TRICKY]


def test_every_format_carries_the_refunded_amount(db, make_config, run_export):
    config = make_config()

    def add(session):
        session.add(
            Transaction(
                config_id=config.id, reference="given-back", amount=1000, postfinance_status="9",
                refund_reserved=400, refunded_amount=250, creation_date=utc(2026, 11, 10, 10, 0, 0),
            )
        )  # fmt: skip

    db.run(add)
    assert csv_rows(run_export("csv", config_id=config.id))[0]["refunded_amount"] == "250"
    assert json.loads(run_export("json", config_id=config.id))[0]["refunded_amount"] == "250"
    (item,) = ET.fromstring(run_export("xml", config_id=config.id)).find("export")
    assert item.find("refunded_amount").text == "250"
    book = openpyxl.load_workbook(io.BytesIO(run_export("xlsx", config_id=config.id)))
    header = [cell.value for cell in book["Transactions"][1]]
    values = [cell.value for cell in book["Transactions"][2]]
    assert dict(zip(header, values, strict=True))["refunded_amount"] == 250
