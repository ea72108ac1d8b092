"""What ``PolyBanking(..., raise_errors=True)`` raises instead of returning ``None`` or an error tuple.

Every exception is a PolyBankingError, so one ``except`` catches them all; the subclasses say what
went wrong when a website wants to react differently (retry, fix its keys, show "unknown order").
"""


class PolyBankingError(Exception):
    """Base class; ``message`` is for a person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransportError(PolyBankingError):
    """The gateway could not be reached, timed out, or did not answer with JSON. Worth a retry."""


class ApiError(PolyBankingError):
    """The gateway answered with an error; ``status_code`` is the HTTP status."""

    def __init__(self, message: str, status_code: int):
        super().__init__(message)
        self.status_code = status_code


class BadRequest(ApiError):
    """400: a parameter was refused (e.g. ``max_transaction``)."""


class AuthenticationError(ApiError):
    """403: ``config_id`` or the API secret is wrong (or, for a refund, refunds through the API are
    not allowed for this config: its administrators switch them on)."""


class TransactionNotFound(ApiError):
    """404: this config has no transaction with that reference."""


class RefundRefused(ApiError):
    """409: the transaction is not paid, the amount is more than is left to refund, or the
    idempotency key was used for another amount. Not worth a retry as it is."""


class PaymentRefused(PolyBankingError):
    """The gateway refused to start a payment; ``status`` is its word (``KEY_ERROR``, ``AMOUNT_ERROR``…)."""

    def __init__(self, status: str):
        super().__init__(f"payment refused: {status}")
        self.status = status


class InvalidIPN(PolyBankingError):
    """An IPN that must not be trusted; ``reason`` is ``SIGN`` (bad signature) or ``CONFIG`` (not ours);
    for a JSON IPN, ``HEADERS`` (bad signature or too old), ``BODY`` or ``CONFIG``."""

    def __init__(self, reason: str):
        super().__init__(f"invalid IPN: {reason}")
        self.reason = reason
