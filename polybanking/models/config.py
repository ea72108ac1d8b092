"""A website using the gateway (a tenant): its secrets, URLs, environment and allowed admins."""

import secrets
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, String, Table, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..platforms import EPAYMENT, PLATFORMS
from .meta import Base, utcnow
from .user import User

config_allowed_users = Table(
    "config_allowed_users",
    Base.metadata,
    Column("config_id", ForeignKey("configs.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

#: Users who may refund, capture and cancel the config's payments: a right of its own, not implied
#: by being allowed on the config (superusers always may).
config_operators = Table(
    "config_operators",
    Base.metadata,
    Column("config_id", ForeignKey("configs.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)

SECRET_FIELDS = ("key_request", "key_ipn", "key_api")

#: The IPN's body (PROTOCOL §6): the signed form the 2014 websites read (the default), or a
#: Standard Webhooks JSON body for websites written since, which also says the refunded amount and
#: whether the payment was a test. Both carry the Standard Webhooks headers.
IPN_FORM = "form"
IPN_JSON = "json"
IPN_FORMATS = (IPN_FORM, IPN_JSON)


def generate_secret() -> str:
    """64 random bytes from the OS CSPRNG, hex encoded (PROTOCOL §1)."""
    return secrets.token_hex(64)


class Config(Base):
    __tablename__ = "configs"
    __table_args__ = (
        CheckConstraint("max_amount IS NULL OR max_amount > 0", name="max_amount_positive"),
        CheckConstraint(
            "platform IN (" + ", ".join(f"'{name}'" for name in PLATFORMS) + ")", name="platform_known"
        ),
        CheckConstraint(
            "ipn_format IN (" + ", ".join(f"'{name}'" for name in IPN_FORMATS) + ")", name="ipn_format_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    admin_enable: Mapped[bool] = mapped_column(default=True)
    test_mode: Mapped[bool] = mapped_column(default=True)
    #: Which PostFinance platform takes its payments (PROTOCOL §11); websites see no difference.
    platform: Mapped[str] = mapped_column(String(16), default=EPAYMENT, server_default=EPAYMENT)
    url_ipn: Mapped[str] = mapped_column(String(2048), default="")
    ipn_format: Mapped[str] = mapped_column(String(8), default=IPN_FORM, server_default=IPN_FORM)
    url_back_ok: Mapped[str] = mapped_column(String(2048), default="")
    url_back_err: Mapped[str] = mapped_column(String(2048), default="")
    key_request: Mapped[str] = mapped_column(String(255), default=generate_secret)
    key_ipn: Mapped[str] = mapped_column(String(255), default=generate_secret)
    key_api: Mapped[str] = mapped_column(String(255), default=generate_secret)
    group: Mapped[str] = mapped_column(String(255), default="")
    max_amount: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Whether the website may refund through the API (PROTOCOL §10); off unless an admin says so.
    api_refunds: Mapped[bool] = mapped_column(default=False, server_default=false())

    allowed_users: Mapped[list[User]] = relationship(secondary=config_allowed_users)
    operators: Mapped[list[User]] = relationship(secondary=config_operators)

    @property
    def usable(self) -> bool:
        """Whether websites may use it: active and not disabled by an administrator."""
        return self.active and self.admin_enable

    def __repr__(self) -> str:
        return f"<Config {self.id} {self.name!r}>"
