"""One payment of one website: what was asked, what PostFinance said, and the IPN outbox state."""

import secrets
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..platforms.epayment.statuses import is_good, status_text
from .config import Config
from .meta import Base, utcnow

REFERENCE_MAX_LENGTH = 255

CREATED, FORWARDED, FEEDBACK = "cr", "fw", "fb"
INTERNAL_STATUS_TEXT = {
    CREATED: "Transation created",  # sic: the original's text, which the API returns
    FORWARDED: "User forwarded to PostFinance",
    FEEDBACK: "Feedback from PostFinance",
}


def generate_token() -> str:
    """Unguessable handle for the shopper's ``go`` link (ids would let anyone walk transactions)."""
    return secrets.token_urlsafe(32)


class Transaction(Base):
    __tablename__ = "transactions"
    __table_args__ = (
        UniqueConstraint("config_id", "reference", name="uq_transactions_config_reference"),
        CheckConstraint("amount > 0", name="amount_positive"),
        # Never more refunded than paid, whatever the code does (services/operations reserves a
        # refund's amount with one conditional UPDATE before the platform is asked).
        CheckConstraint("refund_reserved <= amount", name="refund_within_amount"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= refund_reserved", name="refunded_reserved"
        ),
        Index("ix_transactions_ipn_due", "ipn_needed", "ipn_next_attempt_at"),
        # The admin list, newest first, all or one config's (migration 0004_admin).
        Index("ix_transactions_created_id", "creation_date", "id"),
        Index("ix_transactions_config_created", "config_id", "creation_date", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("configs.id"), index=True)
    reference: Mapped[str] = mapped_column(String(REFERENCE_MAX_LENGTH))
    extra_data: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[str] = mapped_column(String(64), unique=True, default=generate_token)

    postfinance_id: Mapped[str | None] = mapped_column(String(32), index=True)
    postfinance_id_sub: Mapped[int | None]
    postfinance_status: Mapped[str | None] = mapped_column(String(2))
    internal_status: Mapped[str] = mapped_column(String(2), default=CREATED)
    brand: Mapped[str] = mapped_column(String(64), default="")
    card: Mapped[str] = mapped_column(String(64), default="")
    flagged: Mapped[bool] = mapped_column(default=False)

    creation_date: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: Indexed: reconciliation selects the orders sent to PostFinance within a report's days.
    last_userforwarded_date: Mapped[datetime | None] = mapped_column(index=True)
    last_user_back_from_postfinance_date: Mapped[datetime | None]
    last_postfinance_ipn_date: Mapped[datetime | None]
    last_ipn_date: Mapped[datetime | None]

    ipn_needed: Mapped[bool] = mapped_column(default=False)
    ipn_attempts: Mapped[int] = mapped_column(default=0)
    ipn_next_attempt_at: Mapped[datetime | None]
    ipn_failed: Mapped[bool] = mapped_column(default=False)
    # An atomic claim (services/ipn_outbox.py): the worker sending the IPN owns it until then, so two
    # workers never send for one transaction at once and a crashed worker's claim simply expires.
    ipn_claim_token: Mapped[str | None] = mapped_column(String(32))
    ipn_claimed_until: Mapped[datetime | None]

    #: DirectLink status checks (PROTOCOL §9): how many were made since the last status change,
    #: and when the next one is due (None: as soon as the transaction looks stale).
    directlink_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    directlink_next_at: Mapped[datetime | None]

    #: Refunds (PROTOCOL §10): what the platform confirmed, and that plus what is still pending;
    #: a refused refund gives its share of ``refund_reserved`` back.
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    refund_reserved: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    config: Mapped[Config] = relationship()

    @property
    def amount_chf(self) -> float:
        return self.amount / 100

    @property
    def postfinance_status_good(self) -> bool:
        return is_good(self.postfinance_status)

    @property
    def postfinance_status_text(self) -> str:
        return status_text(self.postfinance_status)

    @property
    def internal_status_text(self) -> str:
        return INTERNAL_STATUS_TEXT.get(self.internal_status, self.internal_status)

    @property
    def last_postfinance_update(self) -> datetime | None:
        """Time of the last PostFinance report, by either channel (post-sale or browser return)."""
        dates = [d for d in (self.last_postfinance_ipn_date, self.last_user_back_from_postfinance_date) if d]
        return max(dates) if dates else None

    def __repr__(self) -> str:
        return f"<Transaction {self.id} {self.reference!r}>"
