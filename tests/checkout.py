"""Helpers for the Checkout tests: the official SDK pointed at the sandbox, and webhooks."""

from postfinancecheckout import Configuration
from postfinancecheckout.models import LineItemCreate, LineItemType, TransactionCreate
from postfinancecheckout.service import TransactionsService

SPACE, USER = 4711, 512  # testing.ini's checkout.test.*


def sdk_configuration(settings, test: bool = True, **changes) -> Configuration:
    env = settings.checkout(test)
    values = {"user_id": env.user_id, "authentication_key": env.authentication_key, "host": env.api_url}
    values.update(changes)
    return Configuration(**values)


def new_transaction(settings, amount: float = 12.5, reference: str = "polybanking-1", test: bool = True):
    """A transaction created in the sandbox by the SDK, as a website's integration would."""
    create = TransactionCreate(
        currency="CHF",
        merchant_reference=reference,
        success_url="http://127.0.0.1:9/ok",
        failed_url="http://127.0.0.1:9/err",
        line_items=[
            LineItemCreate(
                name="Order",
                quantity=1,
                amount_including_tax=amount,
                type=LineItemType.PRODUCT,
                unique_id="o",
            )
        ],
    )
    service = TransactionsService(sdk_configuration(settings, test))
    return service.post_payment_transactions(settings.checkout(test).space_id, create)


def pay_with_checkout(
    testapp, config, outcome, method="TWINT", lose=False, reference="order-1", amount="550"
):
    """Website start → go (a Checkout transaction) → the sandbox's page → outcome → return.

    Returns (the shop's redirect, the go answer, the Checkout transaction id). The sandbox sends
    each state's webhook before it redirects, so every IPN they cause has been sent by then.
    """
    from .website import path_of, start_params

    answer = testapp.post("/paiements/start/", start_params(config, amount, reference))
    assert answer.json["status"] == "OK"
    go = testapp.get(path_of(answer.json["url"]))
    assert go.status_int == 303, go.text
    page = testapp.get(path_of(go.location))
    assert all(name in page.text for name in ("TWINT", "PostFinance Pay", "Visa", "Mastercard"))
    form = {"method": method, "outcome": outcome, **({"lose": "1"} if lose else {})}
    decided = testapp.post(path_of(go.location), form)
    assert decided.status_int == 303
    settings = testapp.app.registry.pb_settings
    token = path_of(answer.json["url"]).rsplit("/", 1)[1]
    assert decided.location == settings.url(f"/paiements/checkout/return/{token}")
    back = testapp.get(path_of(decided.location))
    assert back.status_int == 303
    return back, go, int(path_of(go.location).rsplit("/", 1)[1])
