"""A refund, capture or cancellation of one transaction, asked of its platform.

The row is written before the platform is called, so a crash between the two leaves a trace, and
its unique ``(transaction_id, idempotency_key)`` makes a retried request, a double click or two
administrators at once one operation, whatever the order the requests arrive in.
"""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, utcnow
from .transaction import Transaction

REFUND, CAPTURE, CANCEL = "refund", "capture", "cancel"
KINDS = (REFUND, CAPTURE, CANCEL)
PENDING, DONE, REFUSED = "pending", "done", "refused"
STATES = (PENDING, DONE, REFUSED)
IDEMPOTENCY_KEY_MAX_LENGTH = 64


class Operation(Base):
    __tablename__ = "operations"
    __table_args__ = (
        UniqueConstraint("transaction_id", "idempotency_key", name="uq_operations_idempotency"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("kind IN ('refund', 'capture', 'cancel')", name="kind_known"),
        CheckConstraint("state IN ('pending', 'done', 'refused')", name="state_known"),
        # A payment is captured or cancelled once: a second one, while the first is not refused,
        # fails here whichever request came first.
        Index(
            "uq_operations_one_capture_or_cancel",
            "transaction_id",
            unique=True,
            sqlite_where=text("kind != 'refund' AND state != 'refused'"),
            postgresql_where=text("kind != 'refund' AND state != 'refused'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    idempotency_key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_MAX_LENGTH))
    #: Who asked: ``user:<username>``, ``api`` (the website) or ``cli``.
    requested_by: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(8), default=PENDING)
    #: Whether the platform has been asked (the task claims the row before it calls).
    sent: Mapped[bool] = mapped_column(default=False)
    #: The platform's answer: its status code (e-payment's codes), message and the operation's id
    #: there (PAYID/PAYIDSUB); ``platform_sequence`` is the PAYIDSUB later reports carry.
    platform_status: Mapped[str] = mapped_column(String(4), default="")
    platform_message: Mapped[str] = mapped_column(String(255), default="")
    platform_id: Mapped[str] = mapped_column(String(64), default="")
    platform_sequence: Mapped[int | None]

    transaction: Mapped[Transaction] = relationship()

    @property
    def reference(self) -> str:
        """Our id of the operation at the platform (Checkout's ``externalId``): stable, so that
        asking again names the same operation, and unique per transaction."""
        return f"{self.transaction_id}-{self.id}"

    @property
    def amount_chf(self) -> float:
        return self.amount / 100

    def __repr__(self) -> str:
        return f"<Operation {self.id} {self.kind} {self.amount} {self.state}>"
