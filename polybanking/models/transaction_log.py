"""The story of one payment, append-only; log types are read by websites (PROTOCOL §7)."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, utcnow
from .transaction import Transaction

LOG_TYPE_TEXT = {
    "created": "Transaction created",
    "userForwarded": "User forwarded",
    "userBackFromPostfinance": "User back from postfinance",
    "postfinanceId": "Postfinance ID set",
    "postfinanceStatus": "Postfinance status changed",
    "postfinanceRepeated": "Postfinance report repeated (no change)",
    "postfinanceIgnored": "Postfinance report older than the status kept (ignored)",
    "postfinanceMismatch": "Postfinance report does not match the transaction",
    "directLink": "Status asked of PostFinance (DirectLink)",
    "ipnfailled": "IPN Failled",
    "ipnsuccess": "IPN Success",
    "ipnResend": "IPN resend requested",
    "ipnClaimExpired": "IPN taken over from a stopped worker",
    "refundTold": "IPN due: the refunded amount changed (JSON IPN)",
    "operationRequested": "Refund, capture or cancellation requested",
    "operationSent": "Operation sent to the platform",
    "operationPending": "Operation pending at the platform",
    "operationDone": "Operation done",
    "operationRefused": "Operation refused",
    "operationError": "Operation: no answer from the platform",
    "platformError": "Payment platform error",
    "checkoutWebhook": "Checkout webhook received",
    "checkoutQuery": "Status asked of Checkout",
}


class TransactionLog(Base):
    __tablename__ = "transaction_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id", ondelete="CASCADE"), index=True)
    when: Mapped[datetime] = mapped_column(default=utcnow)
    log_type: Mapped[str] = mapped_column(String(64))
    extra_data: Mapped[str] = mapped_column(Text, default="")

    transaction: Mapped[Transaction] = relationship()

    @property
    def log_type_text(self) -> str:
        return LOG_TYPE_TEXT.get(self.log_type, self.log_type)
