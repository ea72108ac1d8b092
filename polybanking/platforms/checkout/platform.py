"""PostFinance Checkout as an :class:`~polybanking.platforms.ApiPlatform`: one space, through the SDK.

Every call has the platform's short timeout (a shopper may be waiting) and any failure, Checkout's
refusal or the network's, becomes a PlatformError carrying Checkout's own message.
"""

import json
from dataclasses import dataclass

import urllib3

from .. import (
    CHECKOUT,
    OperationAnswer,
    OperationOrder,
    PaymentOrder,
    PaymentPage,
    PlatformError,
    StatusReport,
)
from . import operations
from .reading import cents, report_of

__all__ = ["CheckoutPlatform", "cents", "describe", "report_of", "sdk_errors"]

# The SDK is imported where it is used: importing it loads its hundreds of models (seconds of
# CPU), which every command and worker start would pay for, Checkout or not.


def sdk_errors() -> tuple[type[Exception], ...]:
    """The errors of an SDK call: Checkout's answer, the network, or an answer the SDK cannot read."""
    from postfinancecheckout.exceptions import OpenApiException
    from postfinancecheckout.postfinancecheckout_sdk_exception import PostFinanceCheckoutSdkException
    from pydantic import ValidationError

    return (
        OpenApiException,
        PostFinanceCheckoutSdkException,
        urllib3.exceptions.HTTPError,
        ValidationError,
        ValueError,
    )


def describe(error: Exception) -> str:
    """Checkout's own words for a failed call (its error body's code and message), for the logs."""
    from postfinancecheckout.exceptions import ApiException

    if isinstance(error, ApiException):
        try:
            body = json.loads(error.body or "")
            detail = f"{body.get('code', '')}: {body.get('message', '')}"
        except (ValueError, AttributeError):
            detail = (error.reason or "").strip()
        return f"Checkout answered HTTP {error.status} ({detail})"
    return f"Checkout could not be reached or read: {type(error).__name__}: {str(error)[:200]}"


@dataclass(frozen=True)
class CheckoutPlatform:
    """One Checkout space, reached with its application user's credentials."""

    space_id: int
    user_id: int
    authentication_key: str
    api_url: str
    timeout: float = 10.0
    name: str = CHECKOUT

    def __repr__(self) -> str:  # never show the key
        return f"<CheckoutPlatform space {self.space_id} at {self.api_url}>"

    def configuration(self):
        """The SDK's ``Configuration`` for this space's application user."""
        from postfinancecheckout import Configuration

        return Configuration(
            host=self.api_url,
            user_id=self.user_id,
            authentication_key=self.authentication_key,
            request_timeout=self.timeout,
        )

    def call(self, service_class: type, method: str, *args, **kwargs):
        """One SDK call; PlatformError (Checkout's words) when it fails."""
        service = service_class(self.configuration())
        try:
            return getattr(service, method)(*args, **kwargs)
        except sdk_errors() as error:
            raise PlatformError(describe(error)) from error

    def _transactions(self, method: str, *args, **kwargs):
        from postfinancecheckout.service import TransactionsService

        return self.call(TransactionsService, method, *args, **kwargs)

    def begin_payment(self, order: PaymentOrder) -> PaymentPage:
        """Create the transaction (one line item of the whole amount), then ask for its page."""
        from postfinancecheckout.models import LineItemCreate, LineItemType, TransactionCreate

        create = TransactionCreate(
            currency=order.currency,
            merchant_reference=order.order_id,
            success_url=order.return_url,
            failed_url=order.return_url,
            language=order.language.replace("_", "-") if order.language else None,
            line_items=[
                LineItemCreate(
                    name=f"Order {order.order_id}",
                    unique_id=order.order_id,
                    quantity=1,
                    amount_including_tax=order.amount_cents / 100,
                    type=LineItemType.PRODUCT,
                )
            ],
        )
        created = self._transactions("post_payment_transactions", self.space_id, create)
        if created is None or created.id is None:
            raise PlatformError("Checkout created no transaction")
        return self.resume_payment(str(created.id))

    def resume_payment(self, platform_id: str) -> PaymentPage:
        url = self._transactions(
            "get_payment_transactions_id_payment_page_url", int(platform_id), self.space_id
        )
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise PlatformError("Checkout gave no payment page URL")
        return PaymentPage(url=url, platform_id=platform_id)

    def read(self, platform_id: str):
        """The SDK's ``Transaction`` as Checkout has it now."""
        return self._transactions("get_payment_transactions_id", int(platform_id), self.space_id)

    def read_status(self, platform_id: str) -> StatusReport | None:
        transaction = self.read(platform_id)
        return report_of(transaction)

    def export(self, fields: list[str], page: int = 2000, most: int = 100_000) -> bytes:
        """The space's transaction export (CSV, ``fields`` as columns), page by page, newest first;
        at most ``most`` transactions (the API's offset stops there)."""
        from postfinancecheckout.service import TransactionsService

        header, lines = b"", []
        for offset in range(0, most, page):
            body = bytes(
                self.call(
                    TransactionsService,
                    "get_payment_transactions_export",
                    self.space_id,
                    fields=fields,
                    limit=page,
                    offset=offset,
                    order="createdOn DESC",
                )
            )
            first, _newline, rest = body.partition(b"\r\n")
            header = header or first
            rows = [row for row in rest.split(b"\r\n") if row.strip()]
            lines.extend(rows)
            if len(rows) < page:
                break
        return b"\r\n".join([header, *lines, b""])

    def check_access(self) -> None:
        """Read the space: the credentials work and the user may see it (``polybanking check``)."""
        from postfinancecheckout.service import SpacesService

        space = self.call(SpacesService, "get_spaces_id", self.space_id)
        if space is None or space.id != self.space_id:
            raise PlatformError(f"Checkout did not show space {self.space_id}")

    def search(self, reference: str, limit: int = 10) -> list:
        """Checkout's transactions whose merchantReference is ``reference`` (reconciliation)."""
        query = 'merchantReference:"' + reference.replace("\\", "\\\\").replace('"', '\\"') + '"'
        found = self._transactions("get_payment_transactions_search", self.space_id, query=query, limit=limit)
        return list(found.data or [])

    def operate(self, order: OperationOrder) -> OperationAnswer:
        """A refund, capture or cancellation (``operations``); PlatformUnavailable when it failed."""
        return operations.operate(self, order)

    def read_refund(self, refund_id: int) -> StatusReport | None:
        """A refund as a report about its transaction, naming our reference (PlatformError)."""
        from postfinancecheckout.service import RefundsService

        refund = self.call(RefundsService, "get_payment_refunds_id", refund_id, self.space_id)
        if refund is None:
            raise PlatformError(f"Checkout showed no refund {refund_id}")
        return operations.refund_report(refund)

    def find_refund(self, reference: str, transaction_id: str) -> StatusReport | None:
        """The refund of Checkout transaction ``transaction_id`` whose ``externalId`` is
        ``reference`` (one whose answer was lost), as ``read_refund`` gives it; None when Checkout
        has none (PlatformError). One of another transaction (a database reset, a second
        installation on the same space) is not ours."""
        from postfinancecheckout.service import RefundsService

        query = 'externalId:"' + reference.replace("\\", "\\\\").replace('"', '\\"') + '"'
        found = self.call(RefundsService, "get_payment_refunds_search", self.space_id, query=query, limit=10)
        for refund in list(found.data or []) if found is not None else []:
            if refund.transaction is not None and str(refund.transaction.id) == transaction_id:
                return operations.refund_report(refund)
        return None

    def read_operation(self, kind: str, operation_id: int):
        """The SDK's ``TransactionCompletion`` (a capture) or ``TransactionVoid`` (a cancellation)
        with this id (PlatformError)."""
        from postfinancecheckout import service

        class_name, method = operations.READ[kind]
        return self.call(getattr(service, class_name), method, operation_id, self.space_id)

    def find_operation(self, kind: str, platform_id: str):
        """The newest completion (a capture) or void (a cancellation) of Checkout transaction
        ``platform_id``, for one whose answer never came (so its id is unknown); None when
        Checkout has none (PlatformError). A transaction has at most one of ours of each."""
        from postfinancecheckout import service

        class_name, method = operations.SEARCH[kind]
        query = f"linkedTransaction:{int(platform_id)}"
        found = self.call(getattr(service, class_name), method, self.space_id, query=query, limit=10)
        linked = [
            e
            for e in (found.data or [] if found is not None else [])
            if str(e.linked_transaction) == platform_id
        ]
        return max(linked, key=lambda entity: entity.id or 0, default=None)

    def read_with_operations(
        self, platform_id: str, pending: tuple[tuple[str, str, str], ...]
    ) -> tuple[StatusReport | None, list[StatusReport], tuple[str, ...]]:
        """The payment's state; the outcome of each of its pending captures or cancellations
        (kind, Checkout's id of its completion or void or "" when the answer never came, our
        reference) that has one (``operations.operation_report``); and our references of those
        whose answer never came, of which Checkout has none while the payment is still only
        authorised (moved on, it says what became of them). PlatformError. The operations are
        read first: a failed one is final, whatever the transaction did since."""
        entities, missing = [], []
        for kind, known, reference in pending:
            entity = (
                self.read_operation(kind, int(known))
                if known.isdigit()
                else self.find_operation(kind, platform_id)
            )
            if entity is None:
                missing.append(reference)
            entities.append((kind, entity, reference))
        transaction = self.read(platform_id)
        if operations.state_of(transaction) != "AUTHORIZED":
            missing = []
        reports = [
            operations.operation_report(kind, entity, transaction, ref) for kind, entity, ref in entities
        ]
        return report_of(transaction), [report for report in reports if report is not None], tuple(missing)
