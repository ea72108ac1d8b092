"""Who changed a config, when, and what (a readable diff; secrets never in clear)."""

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .config import Config
from .meta import Base, utcnow
from .user import User


class ConfigLog(Base):
    __tablename__ = "config_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("configs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    when: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(Text, default="")

    config: Mapped[Config] = relationship()
    user: Mapped[User | None] = relationship()
