"""Forwarding the shopper to the config's platform (PROTOCOL §3, §11)."""

import logging
from dataclasses import dataclass

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from ...models import Config, Transaction, TransactionLog
from ...models.meta import utcnow
from ...models.transaction import FEEDBACK, FORWARDED
from ...platforms import PaymentOrder, PlatformError
from ...platforms.epayment.form import format_order_id
from ...settings import Settings
from .apart import read_apart
from .platforms import platform_for, return_url
from .start import TOKEN_PATTERN

log = logging.getLogger(__name__)


class NotForwardable(Exception):
    """The ``go`` link is unknown, its config disabled, or PostFinance already answered."""


class ForwardRaced(Exception):
    """Another request (a second tab) began this payment at the same time: ask again to resume it."""


@dataclass(frozen=True)
class Forward:
    transaction: Transaction
    action_url: str
    fields: dict[str, str]


_ORDER = select(
    Transaction.id,
    Transaction.amount,
    Transaction.internal_status,
    Transaction.postfinance_id,
    Config.platform,
    Config.test_mode,
    Config.active,
    Config.admin_enable,
).join(Config, Config.id == Transaction.config_id)


def _forwardable(dbsession: Session, token: str) -> Row:
    """What beginning the payment needs, read without beginning the request's transaction."""
    if not TOKEN_PATTERN.fullmatch(token):
        raise NotForwardable("unknown token or disabled config")
    order = read_apart(dbsession, _ORDER.where(Transaction.token == token))
    if order is None or not (order.active and order.admin_enable):
        raise NotForwardable("unknown token or disabled config")
    if order.internal_status == FEEDBACK:
        raise NotForwardable("PostFinance already answered for this transaction")
    return order


def forward(dbsession: Session, settings: Settings, token: str, client_ip: str) -> Forward:
    """Where the shopper pays, and the ``userForwarded`` step recorded.

    A platform whose payments are created through its API (Checkout) creates one the first time
    and resumes it on a reload or in a second tab; its id is recorded with the step. The call
    happens before the request's transaction begins, so no lock is held while the platform
    answers; a platform failure raises PlatformError and records nothing but its log line.
    """
    order = _forwardable(dbsession, token)
    platform = platform_for(settings, order)
    try:
        if order.postfinance_id and hasattr(platform, "resume_payment"):
            page = platform.resume_payment(order.postfinance_id)
        else:
            page = platform.begin_payment(
                PaymentOrder(
                    order_id=format_order_id(settings.orderid_prefix, order.id),
                    amount_cents=order.amount,
                    return_url=return_url(settings, order, token),
                    language=settings.language or None,
                )
            )
    except PlatformError as error:
        log.error("transaction %s: %s refused to begin the payment: %s", order.id, platform.name, error)
        dbsession.add(
            TransactionLog(transaction_id=order.id, log_type="platformError", extra_data=str(error))
        )
        raise
    transaction = dbsession.get(Transaction, order.id, with_for_update=True)
    if transaction is None or transaction.internal_status == FEEDBACK:  # answered meanwhile
        raise NotForwardable("PostFinance already answered for this transaction")
    if page.platform_id and page.platform_id != transaction.postfinance_id:
        if transaction.postfinance_id:
            raise ForwardRaced(f"transaction {transaction.id} was begun twice at once")
        transaction.postfinance_id = page.platform_id
        dbsession.add(
            TransactionLog(transaction=transaction, log_type="postfinanceId", extra_data=page.platform_id)
        )
    transaction.internal_status = FORWARDED
    transaction.last_userforwarded_date = utcnow()
    dbsession.add(TransactionLog(transaction=transaction, log_type="userForwarded", extra_data=client_ip))
    return Forward(transaction=transaction, action_url=page.url, fields=dict(page.fields))
