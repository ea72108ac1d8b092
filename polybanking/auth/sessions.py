"""Admin sessions kept in the database, so that signing out ends every copy of a session cookie.

The signed cookie holds a random token; the database holds its SHA-256 (a database dump gives
nobody a usable cookie). ``start`` at sign-in, ``find`` on each request, ``end`` at sign-out, and
``end_all`` when the user's password changes, the user is disabled, or asks to sign out everywhere.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import AdminSession, User
from ..models.meta import utcnow

TOKEN_BYTES = 32


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(dbsession: Session, user: User, max_age: timedelta, now: datetime | None = None) -> str:
    """A new session for ``user``: the token to keep in the cookie. Sessions past ``max_age`` are
    pruned here, so the table holds only sessions that could still be used."""
    now = now or utcnow()
    dbsession.execute(delete(AdminSession).where(AdminSession.created_at < now - max_age))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    dbsession.add(AdminSession(user_id=user.id, token_hash=_hash(token), created_at=now))
    return token


def find(dbsession: Session, user_id: int, token: str) -> AdminSession | None:
    """The live session of ``user_id`` with this token, or None (ended, or never started)."""
    if not token or len(token) > 128:
        return None
    return dbsession.scalar(
        select(AdminSession).where(AdminSession.token_hash == _hash(token), AdminSession.user_id == user_id)
    )


def end(dbsession: Session, token: str) -> None:
    """End one session (sign-out): every copy of its cookie stops working at once."""
    if token:
        dbsession.execute(delete(AdminSession).where(AdminSession.token_hash == _hash(token)))


def end_all(dbsession: Session, user: User) -> int:
    """End every session of ``user``; how many there were."""
    result = dbsession.execute(delete(AdminSession).where(AdminSession.user_id == user.id))
    return result.rowcount or 0
