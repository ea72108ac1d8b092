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
