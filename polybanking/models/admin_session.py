"""One signed-in admin session, so that it can be ended for every copy of its cookie.

The cookie is signed, so it cannot be forged, but a copy of it (a shared computer, a stolen
cookie) would otherwise keep working until it expires. The cookie carries a random token; this row
holds only the token's SHA-256, and a request is signed in only while its row exists. Sign-out
deletes the row; a password change, disabling the user and "sign out everywhere" delete all of the
user's rows.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, utcnow


class AdminSession(Base):
    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
