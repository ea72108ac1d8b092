"""One order that is not the same in PostFinance's report and in PolyBanking, within one run.

Both sides' values are kept as they were at the time of the run (the transaction may change later),
so the run's result and its CSV stay what the treasurer saw.
"""

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

DIFFERENT, ONLY_REPORT, ONLY_POLYBANKING, FOREIGN = "different", "only_report", "only_polybanking", "foreign"
UNANSWERED = "unanswered"  # forwarded to PostFinance, never answered: expected, listed apart
CATEGORIES = (DIFFERENT, ONLY_REPORT, ONLY_POLYBANKING, UNANSWERED, FOREIGN)


class ReconciliationItem(Base):
    __tablename__ = "reconciliation_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_runs.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[str] = mapped_column(String(255))
    #: Which of payid, amount, currency, status differ (comma-separated); empty for other categories.
    fields: Mapped[str] = mapped_column(String(64), default="")
    report_line: Mapped[int | None]
    report_pay_id: Mapped[str | None] = mapped_column(String(32))
    report_amount: Mapped[int | None] = mapped_column(BigInteger)
    report_currency: Mapped[str | None] = mapped_column(String(3))
    report_status: Mapped[str | None] = mapped_column(String(2))
    transaction_id: Mapped[int | None]
    config_id: Mapped[int | None]
    reference: Mapped[str | None] = mapped_column(String(255))
    polybanking_pay_id: Mapped[str | None] = mapped_column(String(32))
    polybanking_amount: Mapped[int | None] = mapped_column(BigInteger)
    polybanking_currency: Mapped[str | None] = mapped_column(String(3))
    polybanking_status: Mapped[str | None] = mapped_column(String(2))
