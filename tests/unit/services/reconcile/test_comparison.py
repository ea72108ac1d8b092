"""The comparison of a report with the database: each category built side by side (the database
state and the report), totals in cents, the report's days and environment, stored runs and CSV."""

import csv
import io
from datetime import UTC, date, datetime

import pytest

from polybanking.models import Config, ReconciliationRun, Transaction
from polybanking.models.transaction import FEEDBACK, FORWARDED
from polybanking.services.reconcile.comparison import ReportUnreadable, compare, day_bounds, read_report
from polybanking.services.reconcile.runs import differences_csv, list_runs, reconcile_file, run_items

from ....reports import FIXTURE, Line, csv_bytes, xml_bytes

MARCH_2 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def settings(app):
    return app.registry.pb_settings


@pytest.fixture
def config(dbsession):
    config = Config(name="Shop", test_mode=True)
    dbsession.add(config)
    dbsession.flush()
    return config


def add(dbsession, config, *, amount=550, status="9", payid="3100000001", forwarded=MARCH_2, id=None):
    """A transaction as the gateway leaves it: forwarded, and with PostFinance's feedback if ``status``."""
    transaction = Transaction(
        id=id,
        config=config,
        reference=f"ref-{id or ''}{dbsession.query(Transaction).count()}",
        amount=amount,
        postfinance_status=status,
        postfinance_id=payid if status else None,
        internal_status=FEEDBACK if status else FORWARDED,
        last_userforwarded_date=forwarded,
    )
    dbsession.add(transaction)
    dbsession.flush()
    return transaction


def run(dbsession, settings, data: bytes, live=False):
    report = read_report(io.BytesIO(data), "report.csv", settings.orderid_prefix, settings.timezone)
    return compare(dbsession, settings, report, live)


def oid(transaction) -> str:
    return f"polybanking-{transaction.id}"


def counts(result) -> dict[str, int]:
    return {name: totals.count for name, totals in result.totals.items() if totals.count}


# --- the shared fixture ------------------------------------------------------------------------


def test_the_fixture_against_a_database_built_beside_it(dbsession, settings, config):
    """Transactions 1-6 as the fixture's orders, with one of each kind of disagreement."""
    day = lambda d: datetime(2026, 3, d, 10, 0, tzinfo=UTC)  # noqa: E731
    add(dbsession, config, id=1, amount=2500, status="9", payid="3100000101", forwarded=day(2))  # same
    add(
        dbsession, config, id=2, amount=1250, status="5", payid="3100000102", forwarded=day(2)
    )  # capture missed
    add(dbsession, config, id=3, amount=9000, status="2", payid="3100000103", forwarded=day(3))  # amount
    add(
        dbsession, config, id=4, amount=500050, status="9", payid="3100000104", forwarded=day(4)
    )  # refund missed
    add(dbsession, config, id=5, amount=4200, status=None, forwarded=day(5))  # left PostFinance's page
    # polybanking-6 is not in the database; webshop-77 is another system's order.

    result = run(dbsession, settings, FIXTURE.read_bytes())

    assert (result.report_lines, result.first_date, result.last_date) == (
        8,
        date(2026, 3, 2),
        date(2026, 3, 31),
    )
    assert counts(result) == {
        "same": 1,
        "different": 3,
        "only_report": 1,
        "unanswered": 1,
        "foreign": 1,
    }
    totals = result.totals
    assert (totals["same"].report_cents, totals["same"].polybanking_cents) == (2500, 2500)
    assert totals["different"].report_cents == 1250 + 9900 + 500050
    assert totals["different"].polybanking_cents == 1250 + 9000 + 500050
    assert totals["only_report"].report_cents == 700
    assert totals["unanswered"].polybanking_cents == 4200
    assert totals["foreign"].report_cents == 3000
    assert not result.matches

    described = {
        (i.category, i.order_id): (
            i.fields,
            i.report and i.report.status,
            i.polybanking and i.polybanking.status,
        )
        for i in result.items
    }
    assert described == {
        ("different", "polybanking-2"): (("status",), "9", "5"),  # the highest PAYIDSUB gives the state
        ("different", "polybanking-3"): (("amount",), "2", "2"),
        ("different", "polybanking-4"): (("status",), "8", "9"),
        ("only_report", "polybanking-6"): ((), "1", None),
        ("unanswered", "polybanking-5"): ((), None, None),  # expected, apart: no difference
        ("foreign", "webshop-77"): ((), "9", None),
    }
    amount = next(i for i in result.items if i.order_id == "polybanking-3")
    assert (amount.report.amount, amount.polybanking.amount, amount.report_line) == (9900, 9000, 5)
    assert amount.reference and amount.config_id == config.id


# --- one test per category -----------------------------------------------------------------------


def test_same(dbsession, settings, config):
    a = add(dbsession, config, amount=2500, payid="3100000001")
    b = add(dbsession, config, amount=101586, status="5", payid="3100000002")
    data = csv_bytes(
        [
            Line(oid(a), payid="3100000001", total="25,00"),
            Line(oid(b), payid="3100000002", status="5", total="1015,86"),
        ]
    )
    result = run(dbsession, settings, data)
    assert counts(result) == {"same": 2}
    assert result.totals["same"].report_cents == result.totals["same"].polybanking_cents == 104086
    assert result.items == [] and result.matches


@pytest.mark.parametrize(
    ("change", "field", "report_value", "our_value"),
    [
        ({"payid": "3199999999"}, "payid", "3199999999", "3100000001"),
        ({"total": "5,60"}, "amount", 560, 550),
        ({"cur": "EUR"}, "currency", "EUR", "CHF"),
        ({"status": "93"}, "status", "93", "9"),
    ],
)
def test_different_says_which_value_and_both_sides(
    dbsession, settings, config, change, field, report_value, our_value
):
    t = add(dbsession, config)
    result = run(dbsession, settings, csv_bytes([Line(oid(t), **change)]))
    assert counts(result) == {"different": 1}
    (item,) = result.items
    assert item.fields == (field,)
    assert (item.report.value(field), item.polybanking.value(field)) == (report_value, our_value)
    assert (item.transaction_id, item.reference, item.report_line) == (t.id, t.reference, 2)


def test_different_when_polybanking_never_heard_back(dbsession, settings, config):
    t = add(dbsession, config, status=None)
    (item,) = run(dbsession, settings, csv_bytes([Line(oid(t))])).items
    assert item.category == "different" and item.fields == ("payid", "status")
    assert (item.polybanking.pay_id, item.polybanking.status) == (None, None)


def test_only_in_the_report(dbsession, settings, config):
    live = Config(name="Live shop", test_mode=False)
    dbsession.add(live)
    dbsession.flush()
    other_environment = add(dbsession, live)
    data = csv_bytes(
        [
            Line("polybanking-2147483000", total="1,00"),  # no such transaction
            Line(oid(other_environment), total="2,00"),  # a live order in the test report
            Line("polybanking-abc", total="4,00"),  # our prefix, but no order of ours
        ]
    )
    result = run(dbsession, settings, data)
    assert counts(result) == {"only_report": 3}
    assert result.totals["only_report"].report_cents == 700
    assert {i.order_id for i in result.items} == {
        "polybanking-2147483000",
        oid(other_environment),
        "polybanking-abc",
    }
    assert all(i.polybanking is None and i.transaction_id is None for i in result.items)


def test_only_in_polybanking_within_the_reports_days_and_environment(dbsession, settings, config):
    reported = add(dbsession, config, forwarded=datetime(2026, 3, 2, 8, tzinfo=UTC))
    missing = add(dbsession, config, amount=1200, forwarded=datetime(2026, 3, 3, 12, tzinfo=UTC))
    add(dbsession, config, forwarded=datetime(2026, 3, 4, 12, tzinfo=UTC))  # after the report's days
    add(dbsession, config, forwarded=None, status=None)  # never sent to PostFinance
    left = add(dbsession, config, amount=700, status=None, forwarded=datetime(2026, 3, 3, 13, tzinfo=UTC))
    live = Config(name="Live shop", test_mode=False)
    dbsession.add(live)
    dbsession.flush()
    add(dbsession, live, forwarded=datetime(2026, 3, 2, 12, tzinfo=UTC))  # the other environment
    data = csv_bytes([Line(oid(reported)), Line("webshop-1", order=date(2026, 3, 3))])
    result = run(dbsession, settings, data)
    assert counts(result) == {"same": 1, "only_polybanking": 1, "unanswered": 1, "foreign": 1}
    (item,) = [i for i in result.items if i.category == "only_polybanking"]
    assert (item.order_id, item.transaction_id, item.polybanking.amount) == (oid(missing), missing.id, 1200)
    assert result.totals["only_polybanking"].polybanking_cents == 1200
    # Forwarded and never answered (the shopper left PostFinance's page): its own, expected category.
    (never,) = [i for i in result.items if i.category == "unanswered"]
    assert (never.transaction_id, result.totals["unanswered"].polybanking_cents) == (left.id, 700)


def test_orders_never_answered_alone_are_no_difference(dbsession, settings, config):
    paid = add(dbsession, config, forwarded=datetime(2026, 3, 2, 8, tzinfo=UTC))
    add(dbsession, config, status=None, forwarded=datetime(2026, 3, 2, 9, tzinfo=UTC))
    result = run(dbsession, settings, csv_bytes([Line(oid(paid))]))
    assert counts(result) == {"same": 1, "unanswered": 1}
    assert result.matches


def test_other_systems_orders_are_listed_apart_and_are_no_difference(dbsession, settings, config):
    t = add(dbsession, config)
    data = csv_bytes([Line(oid(t)), Line("webshop-77", total="30,00"), Line("polybankingX-1", total="1,00")])
    result = run(dbsession, settings, data)
    assert counts(result) == {"same": 1, "foreign": 2}
    assert result.totals["foreign"].report_cents == 3100
    assert result.matches


def test_the_live_environment(dbsession, settings, config):
    live = Config(name="Live shop", test_mode=False)
    dbsession.add(live)
    dbsession.flush()
    t = add(dbsession, live)
    test_order = add(dbsession, config)
    result = run(dbsession, settings, csv_bytes([Line(oid(t))]), live=True)
    assert counts(result) == {"same": 1}
    assert test_order.id not in {i.transaction_id for i in result.items}


# --- several lines per order, days, formats ----------------------------------------------------


def test_the_highest_payidsub_and_the_latest_payid_give_the_final_state(dbsession, settings, config):
    refunded = add(dbsession, config, status="8", payid="3100000001")
    retried = add(dbsession, config, status="9", payid="3100000003")
    data = csv_bytes(
        [
            Line(oid(refunded), payidsub=2, status="8"),
            Line(oid(refunded), payidsub=0, status="5"),
            Line(oid(refunded), payidsub=1, status="9"),
            Line(oid(retried), payid="3100000003", status="9"),
            Line(oid(retried), payid="3100000002", payidsub=1, status="2"),
        ]
    )
    result = run(dbsession, settings, data)
    assert counts(result) == {"same": 2}
    assert result.report_lines == 5


def test_report_days_are_local_time(dbsession, settings, config):
    """Zurich is UTC+1 in early March and UTC+2 from 29 March: the days' bounds follow."""
    assert day_bounds(date(2026, 3, 2), date(2026, 3, 30), "Europe/Zurich") == (
        datetime(2026, 3, 1, 23, tzinfo=UTC),  # 2 March 00:00 CET
        datetime(2026, 3, 30, 22, tzinfo=UTC),  # 31 March 00:00 CEST
    )
    inside = add(dbsession, config, forwarded=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))  # 2 March 00:30
    add(dbsession, config, forwarded=datetime(2026, 3, 30, 22, 30, tzinfo=UTC))  # 31 March 00:30
    add(dbsession, config, forwarded=datetime(2026, 3, 1, 22, 30, tzinfo=UTC))  # 1 March 23:30
    data = csv_bytes([Line("webshop-1", order=date(2026, 3, 2)), Line("webshop-2", order=date(2026, 3, 30))])
    result = run(dbsession, settings, data)
    assert [(i.category, i.transaction_id) for i in result.items if i.transaction_id] == [
        ("only_polybanking", inside.id)
    ]


def test_an_order_forwarded_outside_the_days_is_still_matched(dbsession, settings, config):
    late = add(dbsession, config, forwarded=datetime(2026, 3, 5, 12, tzinfo=UTC))
    result = run(dbsession, settings, csv_bytes([Line(oid(late), order=date(2026, 3, 2))]))
    assert counts(result) == {"same": 1}


def test_xml_report(dbsession, settings, config):
    t = add(dbsession, config)
    result = run(dbsession, settings, xml_bytes([Line(oid(t), status="93")]))
    assert result.file_format == "xml"
    assert [(i.category, i.fields) for i in result.items] == [("different", ("status",))]


def test_unreadable_reports_compare_nothing(settings):
    for data in (b"", csv_bytes([]), csv_bytes([Line("polybanking-1", total="x")])):
        with pytest.raises(ReportUnreadable):
            read_report(io.BytesIO(data), "r.csv", settings.orderid_prefix, settings.timezone)


# --- runs ------------------------------------------------------------------------------------------


def test_a_run_is_stored_with_who_when_file_and_counts(dbsession, settings, config):
    t = add(dbsession, config, amount=1000)
    data = csv_bytes(
        [Line(oid(t), total="10,00", status="93"), Line("webshop-1"), Line("polybanking-999999")]
    )
    outcome = reconcile_file(
        dbsession, settings, io.BytesIO(data), "march.csv", live=False, actor="alice", source="upload"
    )
    run_ = outcome.run
    assert run_.id and run_.created_at.tzinfo is not None
    assert (run_.actor, run_.source, run_.file_name, run_.live, run_.error) == (
        "alice",
        "upload",
        "march.csv",
        False,
        "",
    )
    assert (run_.report_lines, run_.file_format, run_.encoding) == (3, "csv", "UTF-8")
    assert (run_.same_count, run_.different_count, run_.only_report_count, run_.foreign_count) == (0, 1, 1, 1)
    assert (run_.different_report_cents, run_.only_report_cents, run_.foreign_cents) == (1000, 550, 550)
    assert not run_.matches
    assert run_items(dbsession, run_.id) == outcome.comparison.items
    assert list_runs(dbsession) == [run_]


def test_an_unreadable_file_is_a_stored_run_that_says_why(dbsession, settings):
    data = csv_bytes([Line("polybanking-1"), Line("polybanking-2", status="X")])
    outcome = reconcile_file(
        dbsession, settings, io.BytesIO(data), "bad.csv", live=True, actor="cli", source="command"
    )
    assert outcome.comparison is None
    assert outcome.run.error == "line 3, column 4 (STATUS): 'X' is not a status code"
    assert not outcome.run.matches and outcome.run.same_count == 0
    assert run_items(dbsession, outcome.run.id) == []
    assert dbsession.get(ReconciliationRun, outcome.run.id).live is True


def test_differences_csv(dbsession, settings, config):
    t = add(dbsession, config)
    t.reference = '=HYPERLINK("http://evil")'
    dbsession.flush()
    data = csv_bytes([Line(oid(t), total="6,00", status="93"), Line("webshop-1", total="1,00")])
    outcome = reconcile_file(
        dbsession, settings, io.BytesIO(data), "r.csv", live=False, actor="a", source="upload"
    )
    text = differences_csv(run_items(dbsession, outcome.run.id))
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [(r["category"], r["order_id"], r["differs"]) for r in rows] == [
        ("different", oid(t), "amount status"),
        ("other systems' orders", "webshop-1", ""),
    ]
    first = rows[0]
    assert (first["report_amount_cents"], first["polybanking_amount_cents"]) == ("600", "550")
    assert (first["report_status"], first["polybanking_status"]) == ("93", "9")
    assert first["reference"] == '\'=HYPERLINK("http://evil")'  # never a formula in a spreadsheet


REFS = [
    "polybanking-1",
    "polybanking-2147483647",
    "polybanking-2147483648",
    "polybanking-0",
    "polybanking-01",
    "polybanking--1",
    "polybanking-1-2",
    "polybanking-１２",
    "polybanking-99999999999",
    "xpolybanking-1",
    "Polybanking-3",
    "polybanking-",
    "polybanking",
]


def test_orders_are_ours_exactly_when_parse_order_id_says_so(settings):
    """read_report inlines parse_order_id's rule for speed; both must agree."""
    from polybanking.platforms.epayment.form import parse_order_id

    data = csv_bytes([Line(ref, payid=str(3100000000 + n)) for n, ref in enumerate(REFS)])
    report = read_report(io.BytesIO(data), "r.csv", "polybanking", "Europe/Zurich")
    expected = {ref: parse_order_id(ref, "polybanking") for ref in REFS}
    assert {line.order_id: number for number, line in report.ours.items()} == {
        ref: number for ref, number in expected.items() if number is not None
    }
    assert set(report.others) == {ref for ref, number in expected.items() if number is None}


def refunded_by_polybanking(dbsession, config, *, status, refunded, amount=1000):
    transaction = add(dbsession, config, amount=amount, status=status)
    transaction.refund_reserved = transaction.refunded_amount = refunded
    dbsession.flush()
    return transaction


def test_refund_lines_of_refunds_polybanking_made_are_no_difference(dbsession, settings, config):
    part = refunded_by_polybanking(dbsession, config, status="9", refunded=300)
    whole = refunded_by_polybanking(dbsession, config, status="8", refunded=1000)
    pending_then_done = refunded_by_polybanking(dbsession, config, status="9", refunded=250)
    data = csv_bytes(
        [
            Line(oid(part), total="10,00"),
            Line(oid(part), payidsub=1, status="8", total="3,00"),
            Line(oid(whole), payidsub=2, status="8", total="4,00"),  # lines in any order
            Line(oid(whole), total="10,00"),
            Line(oid(whole), payidsub=1, status="8", total="6,00"),
            Line(oid(pending_then_done), total="10,00"),
            Line(oid(pending_then_done), payidsub=1, status="81", total="2,50"),
            Line(oid(pending_then_done), payidsub=2, status="8", total="2,50"),
        ]
    )
    result = run(dbsession, settings, data)
    assert counts(result) == {"same": 3}


def test_refunds_not_the_same_are_a_difference_in_amount(dbsession, settings, config):
    part = refunded_by_polybanking(dbsession, config, status="9", refunded=300)
    data = csv_bytes([Line(oid(part), total="10,00"), Line(oid(part), payidsub=1, status="8", total="5,00")])
    result = run(dbsession, settings, data)
    assert counts(result) == {"different": 1}
    (item,) = result.items
    assert item.fields == ("amount",)
    assert (item.report.amount, item.polybanking.amount) == (500, 300)
    assert item.transaction_id == part.id and item.reference == part.reference
