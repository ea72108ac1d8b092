"""A failed admin sign-in: kept to slow down whoever guesses passwords (by username and by address)."""

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, utcnow


class SignInFailure(Base):
    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_username_when", "username", "when"),
        Index("ix_sign_in_failures_ip_when", "ip", "when"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150))
    ip: Mapped[str] = mapped_column(String(64), default="")
    when: Mapped[datetime] = mapped_column(default=utcnow)
