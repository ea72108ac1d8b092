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

    def refund_json(self, refund: dict) -> dict:
        """The API's ``Refund`` object, with its transaction as Checkout embeds it."""
        return {
            "id": refund["id"],
            "state": refund["state"],
            "amount": float(refund["amount"]),
            "linkedSpaceId": self.space_id,
            "createdOn": refund["created_on"],
            "transaction": self.as_json(),
        }

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

    def refund(self, transaction: SandboxTransaction, amount: Decimal, state: str = "SUCCESSFUL") -> dict:
        """A refund of ``amount`` on ``transaction``, already in ``state`` (the back office plays it)."""
        with self._lock:
            refund = {"id": next(self._ids), "amount": amount, "state": state, "created_on": timestamp()}
            transaction.refunds.append(refund)
            self._refunds[refund["id"]] = transaction
            transaction.version += 1
            return refund

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
