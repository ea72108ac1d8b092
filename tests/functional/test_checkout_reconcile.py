"""Reconciling Checkout payments (PROTOCOL §11): Checkout's transaction export, downloaded from the
sandbox's back office or through the SDK, goes through the same comparison, runs and categories as
e-payment's reports, against the Checkout configs' transactions only."""

import io

import pytest
from postfinancecheckout.service import TransactionsService

from polybanking.models.reconciliation_item import DIFFERENT, FOREIGN, ONLY_REPORT
from polybanking.models.reconciliation_run import COMMAND
from polybanking.platforms.checkout.export import iter_export
from polybanking.platforms.epayment.report import ReportError
from polybanking.services.reconcile.comparison import SAME
from polybanking.services.reconcile.runs import reconcile_file

from ..checkout import SPACE, new_transaction, pay_with_checkout, sdk_configuration

OFFICE = "/sandbox/checkout/transactions"
ZURICH = "Europe/Zurich"


def test_the_export_through_the_sdk_and_the_back_office_is_one_csv(testapp, settings, checkout_store):
    created = new_transaction(settings, 12.5, "polybanking-4")
    fields = ["id", "merchantReference", "state", "authorizationAmount", "currency", "createdOn"]
    body = TransactionsService(sdk_configuration(settings)).get_payment_transactions_export(
        SPACE, fields=fields
    )
    lines = bytes(body).decode().splitlines()
    assert lines[0] == ",".join(fields) and lines[1].startswith(
        f"{created.id},polybanking-4,PENDING,12.5,CHF,"
    )
    [line] = list(
        iter_export(io.BytesIO(testapp.get("/sandbox/checkout/export.csv").body), settings.timezone)
    )
    assert (line.order_id, line.pay_id, line.status, line.amount_cents) == (
        "polybanking-4",
        str(created.id),
        "",
        1250,
    )


def test_checkout_payments_are_compared_with_the_export(
    testapp, make_config, settings, checkout_store, db, receiver
):
    checkout = make_config(platform="checkout")
    make_config(name="e-payment shop")  # its payments are never Checkout's
    pay_with_checkout(testapp, checkout, "fulfill", reference="paid")
    _back, _go, authorised = pay_with_checkout(testapp, checkout, "authorize", reference="authorised")
    # The back office completes the second payment, but its webhook is lost: PolyBanking says 5.
    testapp.post(OFFICE, {"id": str(authorised), "operation": "complete", "lose": "1"})
    new_transaction(settings, 3.0, "polybanking-999999")  # ours by its prefix, unknown to PolyBanking
    new_transaction(settings, 4.0, "another-shop-17")  # another system's
    export = testapp.get("/sandbox/checkout/export.csv").body

    outcome = db.run(
        lambda s: reconcile_file(
            s, settings, io.BytesIO(export), "export.csv", live=False, actor="t", source=COMMAND
        )
    )
    comparison = outcome.comparison
    assert comparison.totals[SAME].count == 1 and comparison.totals[SAME].report_cents == 550
    assert {(item.category, item.order_id) for item in comparison.items} == {
        (DIFFERENT, next(i.order_id for i in comparison.items if i.category == DIFFERENT)),
        (ONLY_REPORT, "polybanking-999999"),
        (FOREIGN, "another-shop-17"),
    }
    [different] = [item for item in comparison.items if item.category == DIFFERENT]
    assert (
        different.fields == ("status",)
        and different.report.status == "91"
        and different.polybanking.status == "5"
    )
    assert outcome.run.file_format == "checkout" and not comparison.matches


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            b"id,merchantReference,state\r\n1,polybanking-1,FULFILL\r\n",
            "line 1: the header has no column authorizationAmount (or Authorization Amount), "
            "no column currency (or Currency), no column createdOn (or Created On)",
        ),
        (
            b"Transaction ID;Merchant Reference;State;Authorization Amount;Currency\r\n",
            "no column createdOn (or Created On)",
        ),
        (
            b"id,merchantReference,state,authorizationAmount,currency,createdOn\r\n"
            b"1,polybanking-1,PAID,5.5,CHF,2026-12-01T10:00:00Z\r\n",
            "line 2, column state",
        ),
        (
            b"id,merchantReference,state,authorizationAmount,currency,createdOn\r\n"
            b"1,polybanking-1,FULFILL,5.505,CHF,2026-12-01T10:00:00Z\r\n",
            "line 2, column authorizationAmount",
        ),
    ],
)
def test_an_export_that_cannot_be_trusted_is_named_and_compared_with_nothing(content, words):
    with pytest.raises(ReportError) as caught:
        list(iter_export(io.BytesIO(content), ZURICH))
    assert words in str(caught.value)


def test_back_office_labels_and_semicolons_are_read_too():
    content = (
        "\ufeffID;Merchant Reference;State;Authorization Amount;Currency;Created On;Refunded Amount\r\n"
        "7;polybanking-3;FULFILL;20.00;CHF;2026-03-29 01:30:00;20.00\r\n"
    ).encode()
    [line] = list(iter_export(io.BytesIO(content), ZURICH))
    assert (line.pay_id, line.status, line.amount_cents, line.order_date.isoformat()) == (
        "7",
        "8",
        2000,
        "2026-03-29",
    )


@pytest.mark.parametrize(
    ("created_on", "day"),
    [
        ("2026-12-31T23:30:00.000Z", "2027-01-01"),  # 00:30 on 1 January in Zurich (CET, UTC+1)
        ("2026-12-31T22:59:59Z", "2026-12-31"),
        ("2027-01-01T00:30:00+01:00", "2027-01-01"),
        ("2027-03-28T01:30:00Z", "2027-03-28"),  # 03:30 CEST, half an hour after the change
        ("2027-06-30T22:30:00", "2027-07-01"),  # no offset: Checkout's UTC; 00:30 CEST
        ("2027-06-30", "2027-06-30"),  # a bare day is already the back office's (local) day
    ],
)
def test_an_exports_day_is_the_organisations_day_as_in_e_payment_reports(created_on, day):
    content = (
        "id,merchantReference,state,authorizationAmount,currency,createdOn\r\n"
        f"7,polybanking-3,FULFILL,5.50,CHF,{created_on}\r\n"
    ).encode()
    [line] = list(iter_export(io.BytesIO(content), ZURICH))
    assert line.order_date.isoformat() == day


def test_the_likely_back_office_labels_are_read_as_the_apis_names():
    content = (
        b"Transaction ID;Merchant Reference;Transaction State;Authorized Amount;Currency;Creation Date\r\n"
        b"8;polybanking-4;DECLINE;12.50;CHF;2027-01-02T09:00:00Z\r\n"
    )
    [line] = list(iter_export(io.BytesIO(content), ZURICH))
    assert (line.pay_id, line.order_id, line.status, line.amount_cents, line.currency) == (
        "8",
        "polybanking-4",
        "93",
        1250,
        "CHF",
    )


def test_a_payment_late_on_31_december_is_reconciled_on_1_january(make_config, db, settings):
    """The export's days are Zurich days, as e-payment's: its window is 1 January in Zurich, so a
    payment forwarded on 31 December (Zurich) and missing from it is none of its business, and one
    forwarded on 1 January and missing from it is a difference."""
    from datetime import UTC, datetime

    from polybanking.models import Transaction
    from polybanking.models.reconciliation_item import ONLY_POLYBANKING

    config = make_config(platform="checkout")

    def add(session, payid, forwarded):
        transaction = Transaction(
            config_id=config.id,
            reference=f"order-{payid}",
            amount=550,
            postfinance_status="9",
            postfinance_id=payid,
            internal_status="fb",
            last_userforwarded_date=forwarded,
        )
        session.add(transaction)
        session.flush()
        return transaction.id

    late = db.run(lambda s: add(s, "700001", datetime(2026, 12, 31, 23, 30, tzinfo=UTC)))  # 1 Jan, 00:30
    db.run(lambda s: add(s, "700002", datetime(2026, 12, 31, 12, 0, tzinfo=UTC)))  # 31 Dec, 13:00
    missing = db.run(lambda s: add(s, "700003", datetime(2027, 1, 1, 10, 0, tzinfo=UTC)))  # 1 Jan, 11:00
    content = (
        "id,merchantReference,state,authorizationAmount,currency,createdOn\r\n"
        f"700001,polybanking-{late},FULFILL,5.50,CHF,2026-12-31T23:30:00.000Z\r\n"
    ).encode()

    outcome = db.run(
        lambda s: reconcile_file(
            s, settings, io.BytesIO(content), "export.csv", live=False, actor="t", source=COMMAND
        )
    )
    comparison = outcome.comparison
    assert (comparison.first_date.isoformat(), comparison.last_date.isoformat()) == ("2027-01-01",) * 2
    assert comparison.totals[SAME].count == 1
    assert [(item.category, item.transaction_id) for item in comparison.items] == [
        (ONLY_POLYBANKING, missing)
    ]


def test_the_compare_command_asks_checkouts_api_for_the_export(
    testapp, make_config, settings, checkout_store, base_settings, live_server, tmp_path, capsys
):
    from polybanking.scripts import commands

    from .test_cli import write_ini

    checkout = make_config(platform="checkout")
    pay_with_checkout(testapp, checkout, "fulfill", reference="paid")
    new_transaction(settings, 4.0, "another-shop-18")
    ini = write_ini(tmp_path)
    lines = []
    for line in ini.read_text().splitlines():
        if line.startswith("sqlalchemy.url"):
            line = f"sqlalchemy.url = {base_settings['sqlalchemy.url']}"
        elif line.startswith("checkout.test.api_url"):
            line = f"checkout.test.api_url = {live_server.url}/sandbox/checkout/api/v2.0"
        lines.append(line)
    ini.write_text("\n".join(lines) + "\n")
    assert (
        commands.compare(str(ini), None, live=False, checkout_api=True) == 0
    )  # a foreign order is no difference
    out = capsys.readouterr().out
    assert out.startswith("checkout-test-export.csv: test environment, CHECKOUT UTF-8, 2 lines")
    assert "Everything matches." in out and "Stored as run" in out
    assert "another-shop-18" in out
