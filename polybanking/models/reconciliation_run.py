"""One comparison of a PostFinance report with the database: who ran it, on which file, what it found.

Counts and totals (in cents) are kept per category so the list of runs reads without the items;
the items (every order that is not the same on both sides) are ``ReconciliationItem`` rows.
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, utcnow
from .user import User

UPLOAD, COMMAND, INBOX = "upload", "command", "inbox"


class ReconciliationRun(Base):
    __tablename__ = "reconciliation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str] = mapped_column(String(255))
    live: Mapped[bool] = mapped_column(default=False)
    #: Why the file could not be read ("" when it was): such a run compared nothing.
    error: Mapped[str] = mapped_column(Text, default="")
    file_format: Mapped[str] = mapped_column(String(8), default="")
    encoding: Mapped[str] = mapped_column(String(16), default="")
    report_lines: Mapped[int] = mapped_column(default=0)
    first_date: Mapped[date | None]
    last_date: Mapped[date | None]

    same_count: Mapped[int] = mapped_column(default=0)
    same_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    different_count: Mapped[int] = mapped_column(default=0)
    different_report_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    different_polybanking_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    only_report_count: Mapped[int] = mapped_column(default=0)
    only_report_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    only_polybanking_count: Mapped[int] = mapped_column(default=0)
    only_polybanking_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Forwarded to PostFinance and never answered (the shopper left its page): expected, apart.
    unanswered_count: Mapped[int] = mapped_column(default=0, server_default="0")
    unanswered_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    foreign_count: Mapped[int] = mapped_column(default=0)
    foreign_cents: Mapped[int] = mapped_column(BigInteger, default=0)

    user: Mapped[User | None] = relationship()

    @property
    def readable(self) -> bool:
        return not self.error

    @property
    def matches(self) -> bool:
        """Read, and nothing differs (orders of other systems, listed apart, are no difference)."""
        return self.readable and not (
            self.different_count or self.only_report_count or self.only_polybanking_count
        )

    @property
    def environment(self) -> str:
        return "live" if self.live else "test"

    def __repr__(self) -> str:
        return f"<ReconciliationRun {self.id} {self.file_name!r}>"
