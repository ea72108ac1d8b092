"""One payment of one website: what was asked, what PostFinance said, and the IPN outbox state."""

import secrets
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    literal_column,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..platforms.epayment.statuses import PENDING_STATUSES, is_good, status_text
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


# What the admin pages look for among a million transactions (migration 0010_scale). Each rare
# filter is a partial index on (creation_date, id): newest first straight from the index, and only
# the few rows that match are in it, so a new payment (created, no status) is in none of them.
# The queries use these very expressions: a planner uses a partial index only when the query's
# condition contains the index's, so the values are literals (never bound parameters).
_ZERO = literal_column("0")
#: The outbox has tried and failed for the current status, or has given up.
IPN_FAILING: ColumnElement[bool] = or_(
    Transaction.ipn_failed.is_(True),
    and_(Transaction.ipn_needed.is_(True), Transaction.ipn_attempts > _ZERO),
)
#: Forwarded to the platform with no answer yet, or an answer PostFinance may still replace.
AT_POSTFINANCE: ColumnElement[bool] = or_(
    and_(
        Transaction.internal_status == literal_column(f"'{FORWARDED}'"),
        Transaction.postfinance_status.is_(None),
    ),
    Transaction.postfinance_status.in_([literal_column(f"'{code}'") for code in sorted(PENDING_STATUSES)]),
)
FLAGGED: ColumnElement[bool] = Transaction.flagged.is_(True)
REFUNDED: ColumnElement[bool] = Transaction.refunded_amount > _ZERO
HAS_STATUS: ColumnElement[bool] = Transaction.postfinance_status.is_not(None)

_NEWEST = (Transaction.creation_date, Transaction.id)
for _name, _where, _columns in (
    ("ix_transactions_ipn_failing", IPN_FAILING, _NEWEST),
    ("ix_transactions_at_postfinance", AT_POSTFINANCE, _NEWEST),
    ("ix_transactions_flagged", FLAGGED, _NEWEST),
    ("ix_transactions_refunded", REFUNDED, _NEWEST),
    # Any reported status (a new payment has none): the status filters, newest first.
    ("ix_transactions_status_created", HAS_STATUS, (Transaction.postfinance_status, *_NEWEST)),
):
    Index(_name, *_columns, sqlite_where=_where, postgresql_where=_where)
#: PostgreSQL only: the admin's "reference contains" (``reference ILIKE '%…%'``) through pg_trgm
#: trigrams. SQLite has no such index; there the search reads every reference.
Index(
    "ix_transactions_reference_trgm",
    Transaction.reference,
    postgresql_using="gin",
    postgresql_ops={"reference": "gin_trgm_ops"},
).ddl_if(dialect="postgresql")
