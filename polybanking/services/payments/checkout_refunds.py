"""Checkout refunds read back (PROTOCOL §11): a refund's webhook, or a refresh of a transaction
whose refunds are pending, reads each refund through the API and applies it through
``apply_report``, which settles the operation it names by our reference (``externalId``).

Only refunds PolyBanking asked for are applied this way; one made in Checkout's back office
shows in the transaction's own state (refunded in full: 8), which the refresh reads after.

A refund whose creation failed (the network, or an HTTP error: no answer) may or may not exist at
Checkout: it is looked up by its ``externalId`` (``find_refund``), and refused when Checkout has
none once it is old enough (``operations.unanswered``).
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Config, Operation, Transaction, TransactionLog
from ...models.operation import PENDING, REFUND
from ...platforms import CHECKOUT, StatusReport
from ...platforms.checkout.platform import CheckoutPlatform
from ...settings import Settings
from .apply import POSTSALE, apply_report
from .platforms import checkout_platform

#: At most this many pending refunds are read per refresh (the janitor asks again later).
MOST_READ = 10


def pending_refunds(dbsession: Session, transaction_id: int) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The transaction's refunds still pending: Checkout's ids of those it answered, and our
    references of those asked whose answer never came (found by their ``externalId``)."""
    pending = dbsession.scalars(
        select(Operation)
        .where(
            Operation.transaction_id == transaction_id,
            Operation.kind == REFUND,
            Operation.state == PENDING,
            Operation.sent.is_(True),
        )
        .order_by(Operation.id)
        .limit(MOST_READ)
    ).all()
    ids = tuple(int(o.platform_id) for o in pending if o.platform_id.isascii() and o.platform_id.isdigit())
    lost = tuple(o.reference for o in pending if not o.platform_id)
    return ids, lost


#: Why a refund whose creation failed is refused once Checkout still has none (operators search
#: Checkout's back office by the same reference).
NOT_AT_CHECKOUT = "Checkout has no refund with this reference"


@dataclass(frozen=True)
class RefundsRead:
    """The pending refunds as Checkout shows them now, and our references of those whose creation
    failed that Checkout has none of (``missing``)."""

    reports: list[StatusReport]
    missing: tuple[str, ...] = ()


def read_refunds(
    platform: CheckoutPlatform, checkout_id: str, refund_ids: tuple[int, ...], lost: tuple[str, ...] = ()
) -> RefundsRead:
    """Each refund of Checkout transaction ``checkout_id`` as Checkout shows it now (PlatformError
    when one cannot be read)."""
    reports = [report for report in map(platform.read_refund, refund_ids) if report is not None]
    missing = []
    for reference in lost:
        found = platform.find_refund(reference, checkout_id)
        if found is None:
            missing.append(reference)
        else:
            reports.append(found)
    return RefundsRead(reports, tuple(missing))


def read_refund(settings: Settings, test_mode: bool, refund_id: int) -> StatusReport | None:
    """The refund a webhook names, read through the API (PlatformError)."""
    return checkout_platform(settings, settings.checkout(test_mode)).read_refund(refund_id)


def apply_refunds(
    dbsession: Session, transaction: Transaction, reports: list[StatusReport], channel: str = POSTSALE
) -> bool:
    """Apply the reports of our own refunds to ``transaction`` (locked by the caller), as having
    come by ``channel``; True when an IPN became due (its status changed: refunded in full, 8;
    or a partial refund a JSON IPN tells)."""
    references = {
        o.reference
        for o in dbsession.scalars(
            select(Operation).where(Operation.transaction_id == transaction.id, Operation.kind == REFUND)
        )
    }
    changed = False
    for report in reports:
        if report.pay_id != transaction.postfinance_id or report.operation_reference not in references:
            continue
        changed |= apply_report(dbsession, transaction, report, channel).notify
    return changed


def apply_webhook_refund(
    dbsession: Session, report: StatusReport, test_mode: bool
) -> tuple[int | None, bool]:
    """A refund webhook's refund applied to our transaction: (its id or None if not ours, whether
    its status changed)."""
    transaction = dbsession.scalar(
        select(Transaction)
        .join(Config, Config.id == Transaction.config_id)
        .where(
            Transaction.postfinance_id == report.pay_id,
            Config.platform == CHECKOUT,
            Config.test_mode == test_mode,
        )
        .with_for_update()
    )
    if transaction is None:
        return None, False
    dbsession.add(TransactionLog(transaction=transaction, log_type="checkoutWebhook", extra_data="refund"))
    return transaction.id, apply_refunds(dbsession, transaction, [report])
