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
from polybanking.sandbox.checkout.store import Store
from polybanking.services.reconcile.comparison import SAME
from polybanking.services.reconcile.runs import reconcile_file

from ..checkout import SPACE, new_transaction, pay_with_checkout, sdk_configuration

OFFICE = "/sandbox/checkout/transactions"


@pytest.fixture
def store(app):
    """A Checkout sandbox that remembers nothing yet (its export then holds this test's payments)."""
    app.registry.checkout_sandbox_store = Store(first_id=500_000)
    return app.registry.checkout_sandbox_store


def test_the_export_through_the_sdk_and_the_back_office_is_one_csv(testapp, settings, store):
    created = new_transaction(settings, 12.5, "polybanking-4")
    fields = ["id", "merchantReference", "state", "authorizationAmount", "currency", "createdOn"]
    body = TransactionsService(sdk_configuration(settings)).get_payment_transactions_export(
        SPACE, fields=fields
    )
    lines = bytes(body).decode().splitlines()
    assert lines[0] == ",".join(fields) and lines[1].startswith(
        f"{created.id},polybanking-4,PENDING,12.5,CHF,"
    )
    [line] = list(iter_export(io.BytesIO(testapp.get("/sandbox/checkout/export.csv").body)))
    assert (line.order_id, line.pay_id, line.status, line.amount_cents) == (
        "polybanking-4",
        str(created.id),
        "",
        1250,
    )


def test_checkout_payments_are_compared_with_the_export(testapp, make_config, settings, store, db, receiver):
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
        (b"id,merchantReference,state\r\n1,polybanking-1,FULFILL\r\n", "no authorizationAmount"),
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
        list(iter_export(io.BytesIO(content)))
    assert words in str(caught.value)


def test_back_office_labels_and_semicolons_are_read_too():
    content = (
        "\ufeffID;Merchant Reference;State;Authorization Amount;Currency;Created On;Refunded Amount\r\n"
        "7;polybanking-3;FULFILL;20.00;CHF;2026-03-29 01:30:00;20.00\r\n"
    ).encode()
    [line] = list(iter_export(io.BytesIO(content)))
    assert (line.pay_id, line.status, line.amount_cents, line.order_date.isoformat()) == (
        "7",
        "8",
        2000,
        "2026-03-29",
    )


def test_the_compare_command_asks_checkouts_api_for_the_export(
    testapp, make_config, settings, store, base_settings, live_server, tmp_path, capsys
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
