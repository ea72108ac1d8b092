"""What the Checkout sandbox knows: its transactions, in memory, as Checkout's API shows them.

Each transaction keeps the path of states it went through, so the back office can play a later
operation and the hosted page the states "on the way". Refunds (issue 15) are a list on the
transaction: ``refunded_cents`` is what the API's ``refundedAmount`` reports.
"""

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

#: The states a payment goes through for each outcome of the hosted page (after CONFIRMED).
OUTCOMES = {
    "fulfill": ("PROCESSING", "AUTHORIZED", "COMPLETED", "FULFILL"),
    "authorize": ("PROCESSING", "AUTHORIZED"),
    "fail": ("PROCESSING", "FAILED"),
    "decline": ("PROCESSING", "AUTHORIZED", "COMPLETED", "DECLINE"),
}
#: Later operations of the back office: from which state, to which states.
OPERATIONS = {
    "complete": (("AUTHORIZED",), ("COMPLETED",)),
    "fulfill": (("COMPLETED",), ("FULFILL",)),
    "decline": (("COMPLETED",), ("DECLINE",)),
    "void": (("AUTHORIZED",), ("VOIDED",)),
}
#: Refunds the back office can play: the whole amount left, with this outcome.
REFUND_STATES = ("SUCCESSFUL", "FAILED")
#: What the API's refunds, completions and voids end in, by the amount's cents (as the e-payment
#: sandbox does): …81 stays pending (the back office settles it later), …83 fails. A completion
#: of an amount ending in …91 succeeds but leaves the transaction COMPLETED, as while Checkout's
#: risk checks run (the back office then fulfils or declines it).
PENDING_CENTS, FAILING_CENTS, CHECKING_CENTS = 81, 83, 91


def outcome_by_cents(amount: Decimal) -> str:
    """PENDING, FAILED or SUCCESSFUL for an operation of ``amount`` (see PENDING_CENTS)."""
    cents = int(amount * 100) % 100
    return {PENDING_CENTS: "PENDING", FAILING_CENTS: "FAILED"}.get(cents, "SUCCESSFUL")


def risk_checks_pending(amount: Decimal) -> bool:
    """Whether a successful completion of ``amount`` leaves the transaction COMPLETED."""
    return int(amount * 100) % 100 == CHECKING_CENTS


#: The payment methods the hosted page offers (Checkout's names).
METHODS = ("TWINT", "PostFinance Pay", "Visa", "Mastercard")
WAITING = ("CREATE", "PENDING", "CONFIRMED")


def timestamp() -> str:
    """Now, the way Checkout writes times."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class SandboxTransaction:
    id: int
    space_id: int
    amount: Decimal
    currency: str
    merchant_reference: str
    success_url: str
    failed_url: str
    language: str
    line_items: list[dict]
    created_on: str = field(default_factory=timestamp)
    state: str = "PENDING"
    method: str = ""
    version: int = 1
    refunds: list[dict] = field(default_factory=list)
    #: Completions and voids asked through the API (``kind`` says which), with their state.
    operations: list[dict] = field(default_factory=list)

    def refund_json(self, refund: dict) -> dict:
        """The API's ``Refund`` object, with its transaction as Checkout embeds it."""
        answer = {
            "id": refund["id"],
            "state": refund["state"],
            "amount": float(refund["amount"]),
            "linkedSpaceId": self.space_id,
            "createdOn": refund["created_on"],
            "type": refund.get("type", "MERCHANT_INITIATED_ONLINE"),
            "transaction": self.as_json(),
        }
        for name in ("externalId", "merchantReference"):
            if refund.get(name):
                answer[name] = refund[name]
        if refund["state"] == "FAILED":
            answer["failureReason"] = {"description": {"en-US": "The acquirer declined the refund."}}
        return answer

    @property
    def reserved(self) -> Decimal:
        """What refunds take of the amount: successful ones and those still on their way."""
        return sum((Decimal(str(r["amount"])) for r in self.refunds if r["state"] != "FAILED"), Decimal(0))

    @property
    def refunded(self) -> Decimal:
        return sum(
            (Decimal(str(r["amount"])) for r in self.refunds if r["state"] == "SUCCESSFUL"), Decimal(0)
        )

    def as_json(self) -> dict:
        """The API's ``Transaction`` object, with the fields the SDK reads."""
        answer = {
            "id": self.id,
            "linkedSpaceId": self.space_id,
            "state": self.state,
            "version": self.version,
            "currency": self.currency,
            "merchantReference": self.merchant_reference,
            "authorizationAmount": float(self.amount),
            "completedAmount": float(self.amount) if self.state in ("COMPLETED", "FULFILL", "DECLINE") else 0,
            "refundedAmount": float(self.refunded),
            "successUrl": self.success_url,
            "failedUrl": self.failed_url,
            "language": self.language,
            "lineItems": self.line_items,
            "createdOn": self.created_on,
        }
        if self.method:
            answer["paymentConnectorConfiguration"] = {
                "name": self.method,
                "paymentMethodConfiguration": {"name": self.method},
            }
        return answer


class Store:
    """The sandbox's transactions, shared by the API and the pages (thread-safe)."""

    def __init__(self, first_id: int = 100_000):
        self._lock = threading.Lock()
        self._ids = itertools.count(first_id)
        self._transactions: dict[int, SandboxTransaction] = {}
        self._refunds: dict[int, SandboxTransaction] = {}
        self._operations: dict[int, SandboxTransaction] = {}
        self._events = itertools.count(first_id * 10)

    def next_event_id(self) -> int:
        return next(self._events)

    def create(self, **values) -> SandboxTransaction:
        with self._lock:
            transaction = SandboxTransaction(id=next(self._ids), **values)
            self._transactions[transaction.id] = transaction
            return transaction

    def get(self, space_id: int, transaction_id: int) -> SandboxTransaction | None:
        transaction = self._transactions.get(transaction_id)
        return transaction if transaction is not None and transaction.space_id == space_id else None

    def find(self, transaction_id: int) -> SandboxTransaction | None:
        return self._transactions.get(transaction_id)

    def move(self, transaction: SandboxTransaction, state: str) -> None:
        with self._lock:
            transaction.state = state
            transaction.version += 1

    def refund(
        self, transaction: SandboxTransaction, amount: Decimal, state: str = "SUCCESSFUL", **names: str
    ) -> dict:
        """A refund of ``amount`` on ``transaction``, already in ``state``; ``names`` are the
        API's ``externalId`` and ``merchantReference`` when it was asked through the API."""
        with self._lock:
            refund = {"id": next(self._ids), "amount": amount, "state": state, "created_on": timestamp()}
            refund.update(names)
            transaction.refunds.append(refund)
            self._refunds[refund["id"]] = transaction
            transaction.version += 1
            return refund

    def refund_once(
        self, transaction: SandboxTransaction, amount: Decimal, external_id: str, reference: str
    ) -> tuple[dict, bool]:
        """The refund ``external_id`` names on ``transaction`` (Checkout's idempotency), or a new
        one whose state the amount's cents choose; (refund, created). ValueError when too much."""
        with self._lock:
            for refund in transaction.refunds:
                if refund.get("externalId") == external_id:
                    return refund, False
            if amount > transaction.amount - transaction.reserved:
                raise ValueError(f"at most {transaction.amount - transaction.reserved} may still be refunded")
        names = {"externalId": external_id, "merchantReference": reference}
        return self.refund(transaction, amount, outcome_by_cents(amount), **names), True

    def refunds_by_external_id(
        self, space_id: int, external_id: str
    ) -> list[tuple[SandboxTransaction, dict]]:
        """Every refund of the space with this ``externalId``, oldest first."""
        with self._lock:
            return [
                (transaction, refund)
                for refund_id, transaction in sorted(self._refunds.items())
                if transaction.space_id == space_id
                for refund in transaction.refunds
                if refund["id"] == refund_id and refund.get("externalId") == external_id
            ]

    def settle_refunds(self, transaction: SandboxTransaction, state: str) -> list[dict]:
        """Every pending refund of ``transaction`` moved to ``state``; those refunds."""
        with self._lock:
            pending = [r for r in transaction.refunds if r["state"] == "PENDING"]
            for refund in pending:
                refund["state"] = state
            transaction.version += 1
            return pending

    def operation(self, transaction: SandboxTransaction, kind: str, state: str) -> dict:
        """A completion or void of ``transaction`` in ``state``."""
        with self._lock:
            operation = {"id": next(self._ids), "kind": kind, "state": state, "created_on": timestamp()}
            transaction.operations.append(operation)
            self._operations[operation["id"]] = transaction
            return operation

    def settle_operation(self, transaction: SandboxTransaction, kind: str, state: str) -> dict | None:
        """The PENDING completion or void (``kind``) of ``transaction`` moved to ``state``; None
        when there is none."""
        with self._lock:
            for operation in transaction.operations:
                if operation["kind"] == kind and operation["state"] == "PENDING":
                    operation["state"] = state
                    return operation
        return None

    def find_operation(
        self, space_id: int, kind: str, operation_id: int
    ) -> tuple[SandboxTransaction, dict] | None:
        transaction = self._operations.get(operation_id)
        if transaction is None or transaction.space_id != space_id:
            return None
        operation = next(o for o in transaction.operations if o["id"] == operation_id)
        return (transaction, operation) if operation["kind"] == kind else None

    def operations_of(
        self, space_id: int, transaction_id: int, kind: str
    ) -> list[tuple[SandboxTransaction, dict]]:
        """The completions or voids (``kind``) of a transaction of the space, newest first."""
        with self._lock:
            transaction = self.get(space_id, transaction_id)
            if transaction is None:
                return []
            made = [o for o in transaction.operations if o["kind"] == kind]
            return [(transaction, operation) for operation in reversed(made)]

    def find_refund(self, space_id: int, refund_id: int) -> tuple[SandboxTransaction, dict] | None:
        transaction = self._refunds.get(refund_id)
        if transaction is None or transaction.space_id != space_id:
            return None
        return transaction, next(r for r in transaction.refunds if r["id"] == refund_id)

    def search(self, space_id: int, reference: str | None) -> list[SandboxTransaction]:
        with self._lock:
            found = [
                t
                for t in self._transactions.values()
                if t.space_id == space_id and (reference is None or t.merchant_reference == reference)
            ]
        return sorted(found, key=lambda t: t.id, reverse=True)

    def recent(self, limit: int = 100) -> list[SandboxTransaction]:
        with self._lock:
            return sorted(self._transactions.values(), key=lambda t: t.id, reverse=True)[:limit]
