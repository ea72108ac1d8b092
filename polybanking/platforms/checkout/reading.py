"""Checkout's SDK objects read into what the services understand: amounts in cents, and a
transaction's state as a :class:`~polybanking.platforms.StatusReport` in websites' codes."""

from decimal import Decimal, InvalidOperation

from .. import StatusReport
from .states import shown


def cents(amount: float | int | None) -> int | None:
    """Checkout's decimal amount in cents; None when it is not an exact number of cents."""
    if amount is None:
        return None
    try:
        value = Decimal(str(amount)) * 100
    except InvalidOperation:
        return None
    return int(value) if value == value.to_integral_value() else None


def report_of(transaction) -> StatusReport | None:
    """Checkout's transaction in websites' codes (``states``); None while it has no answer yet."""
    state = getattr(transaction.state, "value", transaction.state) or ""
    amount = transaction.authorization_amount
    refunded = transaction.refunded_amount or 0
    mapped = shown(state, refunded_whole=bool(amount) and refunded >= amount)
    if mapped is None:
        return None
    method = ""
    connector = transaction.payment_connector_configuration
    if connector is not None:
        configuration = connector.payment_method_configuration
        method = (configuration.name if configuration is not None else None) or connector.name or ""
    return StatusReport(
        order_id=transaction.merchant_reference or "",
        pay_id=str(transaction.id),
        pay_id_sub=mapped.rank,
        status=mapped.status,
        amount_raw="" if amount is None else str(amount),
        amount_cents=cents(amount),
        currency=transaction.currency or "",
        brand=method[:255],
        card="",
    )
