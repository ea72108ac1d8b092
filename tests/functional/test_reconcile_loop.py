"""The whole loop locally: payments through the sandbox, later operations in its back office, its
transaction report downloaded and compared with the database; and the reports inbox task."""

import io
import os
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from huey import MemoryHuey
from sqlalchemy import select

from polybanking.models import ReconciliationRun
from polybanking.services.reconcile.runs import reconcile_file, run_items
from polybanking.tasks import reconcile as reconcile_tasks
from polybanking.tasks.context import TaskContext

from ..reports import FIXTURE, Line, csv_bytes
from .test_directlink import pay, start

TRANSACTIONS = "/sandbox/ncol/test/transactions"
REPORT = "/sandbox/ncol/test/report.csv"


def test_the_sandbox_report_has_postfinances_format(testapp, make_config, ledger):  # noqa: F811
    order = start(testapp, make_config())
    pay(testapp, order, "authorise")
    download = testapp.get(REPORT)
    assert download.content_type == "text/csv" and download.charset == "iso-8859-1"
    assert "attachment" in download.headers["Content-Disposition"]
    header = download.body.split(b"\r\n")[0]
    assert header == FIXTURE.read_bytes().splitlines()[0]
    line = download.body.split(b"\r\n")[1].decode("iso-8859-1").split(";")
    columns = dict(zip(header.decode().split(";"), line, strict=True))
    today = datetime.now(UTC).astimezone().date()
    assert columns["REF"] == order.form["ORDERID"] and columns["STATUS"] == "5"
    assert columns["TOTAL"] == "5,50" and columns["CUR"] == "CHF"
    assert columns["Id"].endswith("/0") and columns["ORDER"].count("/") == 2
    assert abs((date(*reversed([int(x) for x in columns["ORDER"].split("/")])) - today).days) <= 1


def test_report_days_filter_and_bad_dates(testapp, make_config, ledger):  # noqa: F811
    order = start(testapp, make_config())
    pay(testapp, order)
    assert len(testapp.get(REPORT, {"from": "2000-01-01"}).body.split(b"\r\n")) == 3  # header, line, end
    assert len(testapp.get(REPORT, {"to": "2000-01-01"}).body.split(b"\r\n")) == 2
    assert testapp.get(REPORT, {"from": "01/01/2000"}, expect_errors=True).status_int == 400


def test_the_transactions_page_and_its_operations(testapp, make_config, ledger, receiver, db):  # noqa: F811
    order = start(testapp, make_config())
    pay(testapp, order, "pay")
    payid = ledger.latest("test", order_id=order.form["ORDERID"]).pay_id
    page = testapp.get(TRANSACTIONS)
    assert order.form["ORDERID"] in page.text and "refund" in page.text
    for junk in (
        {"pay_id": payid, "action": "capture"},
        {"pay_id": "1", "action": "refund"},
        {"action": "x"},
    ):
        assert testapp.post(TRANSACTIONS, junk, expect_errors=True).status_int == 400
    testapp.post(TRANSACTIONS, {"pay_id": payid, "action": "refund", "postsale": "1"}, status=303)
    refund = ledger.latest("test", pay_id=payid)
    assert (refund.status, refund.pay_id_sub) == ("8", 1)
    # With the post-sale the gateway heard of the refund and told the website.
    assert [i["postfinance_status"] for i in receiver.wait_for(2, timeout=5)] == ["9", "8"]


def test_download_and_compare(testapp, make_config, ledger, db, settings):  # noqa: F811
    """Paid (same), refunded at PostFinance without feedback (different), feedback lost (different),
    forwarded but never answered (its own, expected category), another system's order (listed apart)."""
    config = make_config()
    paid, refunded, lost, abandoned = (start(testapp, config, f"ref-{n}") for n in range(4))
    pay(testapp, paid)
    pay(testapp, refunded)
    pay(testapp, lost, lose=True)
    payid = ledger.latest("test", order_id=refunded.form["ORDERID"]).pay_id
    testapp.post(TRANSACTIONS, {"pay_id": payid, "action": "refund"}, status=303)
    report = (
        testapp.get(REPORT).body + csv_bytes([Line("webshop-1")], encoding="iso-8859-1").split(b"\n", 1)[1]
    )

    def compare(session):
        outcome = reconcile_file(
            session, settings, io.BytesIO(report), "sandbox.csv", live=False, actor="t", source="upload"
        )
        items = run_items(session, outcome.run.id)
        return outcome.run, [(i.category, i.transaction_id, i.fields) for i in items]

    run, items = db.run(compare)
    assert (run.same_count, run.different_count, run.only_polybanking_count, run.foreign_count) == (
        1,
        2,
        0,
        1,
    )
    assert run.unanswered_count == 1
    assert run.report_lines == 5  # the refunded order has two lines (PAYIDSUB 0 and 1)
    assert sorted(items, key=lambda item: (item[0], item[1] or 0)) == [  # PAYIDs are random: any order
        ("different", refunded.transaction_id, ("status",)),
        ("different", lost.transaction_id, ("payid", "status")),
        ("foreign", None, ()),
        ("unanswered", abandoned.transaction_id, ()),
    ]


# --- the inbox task ------------------------------------------------------------------------------


@pytest.fixture
def inbox(app, tmp_path, clean_db):
    """The inbox task, registered on a queue of its own, with ``reconcile.inbox`` in ``tmp_path``."""
    settings = app.registry.pb_settings
    folders = SimpleNamespace(inbox=tmp_path / "in", archive=tmp_path / "done")
    folders.inbox.mkdir()
    reconcile = replace(settings.reconcile, inbox=str(folders.inbox), archive=str(folders.archive))
    context = TaskContext(app.registry["dbsession_factory"], replace(settings, reconcile=reconcile), {})
    tasks = reconcile_tasks.register(MemoryHuey("inbox-test", immediate=True), context, send_ipn=None)
    folders.run = tasks.reconcile_inbox.call_local
    return folders


def drop(folder, name: str, data: bytes, age: float = 120) -> None:
    path = folder / name
    path.write_bytes(data)
    past = time.time() - age
    os.utime(path, (past, past))


def test_the_inbox_compares_new_reports_and_archives_them(inbox, db):
    drop(inbox.inbox, "march.csv", csv_bytes([Line("webshop-1")]))
    drop(inbox.inbox, "broken.csv", b"not a report\n", age=180)
    drop(inbox.inbox, "copying.csv", b"Id;REF;", age=0)  # still being written
    drop(inbox.inbox, "april.csv.part", b"Id;REF;")
    drop(inbox.inbox, ".hidden.csv", b"Id;REF;")

    ids = inbox.run()
    assert len(ids) == 2
    runs = db.run(
        lambda s: [
            (r.file_name, r.actor, r.source, r.error[:20], r.foreign_count)
            for r in s.scalars(select(ReconciliationRun).order_by(ReconciliationRun.id))
        ]
    )
    assert runs == [
        ("broken.csv", "inbox", "inbox", "no header line (with", 0),
        ("march.csv", "inbox", "inbox", "", 1),
    ]
    assert sorted(p.name for p in inbox.inbox.iterdir()) == [".hidden.csv", "april.csv.part", "copying.csv"]
    archived = sorted(p.name for p in inbox.archive.iterdir())
    assert sorted(name.split("-", 1)[1] for name in archived) == ["broken.csv", "march.csv"]
    assert inbox.run() == []  # nothing new: nothing compared twice


def test_a_file_another_worker_took_is_skipped(inbox, monkeypatch):
    drop(inbox.inbox, "march.csv", csv_bytes([Line("webshop-1")]))
    real_rename = os.rename

    def taken(source, target):
        real_rename(source, str(target) + ".other-worker")
        raise FileNotFoundError(source)

    monkeypatch.setattr(os, "rename", taken)
    assert inbox.run() == []
