"""One try at notifying a website (PROTOCOL §6): when, what it carried, and what the website said.

Append-only, like the transaction's log; the log tells the story in words (``ipnsuccess`` /
``ipnfailled``), this table keeps the same facts as columns for the admin pages and ``ipn status``.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base
from .transaction import Transaction

#: The answer is kept up to this many characters (the issue's 1 000).
ANSWER_EXCERPT = 1000


class IpnAttempt(Base):
    __tablename__ = "ipn_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime]
    duration_ms: Mapped[int]
    #: The status the IPN carried (the transaction's status when it was sent).
    postfinance_status: Mapped[str] = mapped_column(String(2), default="")
    success: Mapped[bool]
    #: The website's HTTP status, or None when no answer came (refused, timeout…).
    http_status: Mapped[int | None]
    #: Why no answer came, e.g. ``ConnectTimeout: …``; empty when one did.
    error: Mapped[str] = mapped_column(Text, default="")
    #: The first ANSWER_EXCERPT characters of the website's answer.
    answer: Mapped[str] = mapped_column(Text, default="")
    #: The Standard Webhooks ``webhook-id`` header sent, the same for every retry of one message.
    webhook_id: Mapped[str] = mapped_column(String(64), default="")

    transaction: Mapped[Transaction] = relationship()

    @property
    def result(self) -> str:
        """``HTTP 500`` or the error, for listings."""
        return f"HTTP {self.http_status}" if self.http_status is not None else self.error

    def __repr__(self) -> str:
        return f"<IpnAttempt {self.id} of transaction {self.transaction_id}: {self.result}>"
