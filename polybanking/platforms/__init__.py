"""The payment platforms PolyBanking speaks, and what each offers the services.

Pure protocol code: no Pyramid, no database. Each platform is a folder (``epayment/``, the
original; PostFinance Checkout beside it) whose ``platform`` module builds an object of the
:class:`Platform` shape from its settings; the services ask ``services.payments.platforms`` for
the one a config uses and never branch on which it is.

Whatever the platform, websites are shown e-payment's status codes (PROTOCOL §5, §11): a
platform reports a payment's state as a :class:`StatusReport` already in those codes, and every
report goes through the one path of ``services.payments.apply``.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

EPAYMENT = "epayment"
CHECKOUT = "checkout"
#: Every platform a config may use; the first is the default.
PLATFORMS = (EPAYMENT, CHECKOUT)
#: The platforms whose ``operate`` (refunds, captures, cancellations) is built; for the others
#: PolyBanking refuses an operation before anything is reserved or sent.
OPERATING_PLATFORMS = (EPAYMENT, CHECKOUT)
CURRENCY = "CHF"


@dataclass(frozen=True)
class PaymentOrder:
    """What a platform needs to begin a payment: our ORDERID, the amount, where the shopper returns."""

    order_id: str
    amount_cents: int
    return_url: str
    language: str | None = None
    currency: str = CURRENCY


@dataclass(frozen=True)
class PaymentPage:
    """Where the shopper goes: ``fields`` posted to ``url`` by a self-submitting form, or, without
    fields, ``url`` itself. ``platform_id`` is the platform's own id of the payment, when beginning
    it created one."""

    url: str
    fields: Mapping[str, str] = field(default_factory=dict)
    platform_id: str = ""


@dataclass(frozen=True)
class StatusReport:
    """A platform's word on one payment, in the status codes websites read (PROTOCOL §5).

    ``pay_id_sub`` numbers the platform's later operations on the same payment (capture,
    refunds), so that an older report is recognised as stale; ``amount_cents`` is None when the
    report's amount cannot be read, which never matches a transaction. ``operation_reference``
    is our reference of the operation the report is about (OperationOrder.reference), when the
    platform names it (Checkout's refunds echo it as ``externalId``); such a report settles that
    operation and no other. ``operation_outcome`` (ACCEPTED or REFUSED), when set, is that
    operation's outcome read apart from the payment's status, which ``status`` then is (a
    Checkout completion that failed leaves the payment AUTHORIZED: refused, and 5), and
    ``operation_message`` says why.
    """

    order_id: str
    pay_id: str
    pay_id_sub: int
    status: str
    amount_raw: str
    amount_cents: int | None
    currency: str
    brand: str
    card: str
    operation_reference: str = field(default="", kw_only=True)
    operation_outcome: str = field(default="", kw_only=True)
    operation_message: str = field(default="", kw_only=True)


#: Operations on a payment already made (PROTOCOL §10, §11): their kinds, and the platform's answer.
REFUND, CAPTURE, CANCEL = "refund", "capture", "cancel"
ACCEPTED, PENDING, REFUSED = "accepted", "pending", "refused"


@dataclass(frozen=True)
class OperationOrder:
    """One refund, capture or cancellation to ask of the platform.

    ``payment_id`` is the platform's id of the payment (e-payment's PAYID, Checkout's transaction
    id); ``final`` says no operation of this kind will follow (e-payment's RFS/SAS/DES rather than
    RFD/SAL/DEL); ``reference`` is our id of the operation, for platforms that keep one (Checkout's
    ``externalId``), unique per payment and the same when the same operation is asked again.
    """

    kind: str
    order_id: str
    payment_id: str
    amount_cents: int
    final: bool
    reference: str
    currency: str = CURRENCY


@dataclass(frozen=True)
class OperationAnswer:
    """What the platform said, the same for every platform.

    ``outcome`` is ACCEPTED (done), PENDING (settled later by a notification or a status query)
    or REFUSED; ``status`` is the payment's status in e-payment's codes (8, 81, 9, 91, 6, 61 …;
    PROTOCOL §11's table for Checkout); ``platform_id`` the operation's id there (PAYID/PAYIDSUB,
    a Checkout refund's id); ``sequence`` the number later reports of this operation carry
    (StatusReport.pay_id_sub), or None when the platform has none; ``message`` why, when refused.
    """

    outcome: str
    status: str
    platform_id: str
    sequence: int | None = None
    message: str = ""


class PlatformUnavailable(Exception):
    """The platform could not be asked or gave no answer one can read: the operation may or may not
    have happened there, so it is never asked again blindly. The message is safe to log."""


class PlatformError(Exception):
    """The platform could not be reached, or refused the call; the message is its own words."""


class Platform(Protocol):
    """What every platform offers the services.

    Beginning a payment and operating on one (refund, capture, cancel) are here; reading a
    platform's notifications stays with its own endpoint (each platform proves authenticity its
    own way) and ends in a :class:`StatusReport`, as do status queries.
    """

    name: str

    def begin_payment(self, order: PaymentOrder) -> PaymentPage:
        """Where to send the shopper to pay ``order``; PlatformError when the platform fails."""
        ...


class ApiPlatform(Platform, Protocol):
    """A platform whose payments are created and read through its API (Checkout).

    ``begin_payment`` creates the payment there (its ``platform_id`` is then recorded, so that a
    reload resumes it) and the platform's word on a payment is read, never taken from a
    notification. Every call raises PlatformError when the platform fails.
    """

    def resume_payment(self, platform_id: str) -> PaymentPage:
        """The page of a payment ``begin_payment`` already created."""
        ...

    def read_status(self, platform_id: str) -> StatusReport | None:
        """The payment's state in websites' codes; None while it has no answer yet."""
        ...

    def operate(self, order: OperationOrder) -> OperationAnswer:
        """Ask for a refund, capture or cancellation; PlatformUnavailable when no answer came.

        Called from a task, never while a database lock is held.
        """
        ...
