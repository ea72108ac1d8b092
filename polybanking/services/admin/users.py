"""Admin accounts: creation, changes, and signing in (local password or Tequila identity)."""

import logging
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...auth import sessions, throttle
from ...auth.passwords import WeakPassword, hash_password, needs_rehash, verify_password
from ...auth.tequila import Identity
from ...models import User

log = logging.getLogger(__name__)

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,149}")


def has_users(dbsession: Session) -> bool:
    """Whether any admin account exists (the home page says how to create the first)."""
    return dbsession.scalar(select(User.id).limit(1)) is not None


class UserError(ValueError):
    """A refused change; the message is shown to the administrator."""


class SignInRefused(Exception):
    """Wrong credentials, disabled account or throttled; ``retry_after`` > 0 when throttled."""

    def __init__(self, reason: str, retry_after: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def check_username(username: str) -> str:
    username = username.strip()
    if not USERNAME_PATTERN.fullmatch(username):
        raise UserError(
            "usernames are 1 to 150 letters, digits and . _ @ + - (starting with a letter or digit)"
        )
    return username


def find_by_username(dbsession: Session, username: str) -> User | None:
    return dbsession.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def create_user(
    dbsession: Session,
    username: str,
    password: str | None,
    *,
    superuser: bool = False,
    staff: bool = False,
    external_id: str | None = None,
) -> User:
    """A new account; usernames are unique whatever their case."""
    username = check_username(username)
    if find_by_username(dbsession, username) is not None:
        raise UserError(f"the username {username!r} is taken")
    try:
        password_hash = hash_password(password) if password is not None else None
    except WeakPassword as error:
        raise UserError(str(error)) from None
    user = User(
        username=username,
        password_hash=password_hash,
        external_id=external_id,
        is_superuser=superuser,
        is_staff=staff,
    )
    try:
        with dbsession.begin_nested():
            dbsession.add(user)
            dbsession.flush()
    except IntegrityError:
        raise UserError(f"the username {username!r} is taken") from None
    return user


@dataclass(frozen=True)
class UserChanges:
    superuser: bool
    staff: bool
    active: bool
    password: str = ""  # empty: unchanged


def update_user(dbsession: Session, user: User, changes: UserChanges, acting: User) -> list[str]:
    """Apply an administrator's changes; nobody can lock themselves out of their own rights."""
    if user.id == acting.id and (not changes.superuser or not changes.active):
        raise UserError("you cannot remove your own superuser rights or disable your own account")
    # Everything is checked before anything changes: a refused form leaves the account as it was.
    try:
        new_hash = hash_password(changes.password) if changes.password else None
    except WeakPassword as error:
        raise UserError(str(error)) from None
    done = []
    for label, attribute, value in (
        ("superuser", "is_superuser", changes.superuser),
        ("staff", "is_staff", changes.staff),
        ("active", "is_active", changes.active),
    ):
        if getattr(user, attribute) != value:
            setattr(user, attribute, value)
            done.append(f"{label}: {'yes' if value else 'no'}")
    if new_hash is not None:
        user.password_hash = new_hash
        done.append("password changed")
    # Whoever knew the old password, or used the account, may hold a copy of its cookie.
    if (new_hash is not None or not user.is_active) and sessions.end_all(dbsession, user):
        done.append("signed out everywhere")
    if done:
        log.info("user %s changed by %s: %s", user.username, acting.username, ", ".join(done))
    return done


def sign_out_everywhere(dbsession: Session, user: User) -> int:
    """End every session of ``user`` (the button of the same name); how many there were."""
    ended = sessions.end_all(dbsession, user)
    log.info("user %s signed out everywhere (%d sessions)", user.username, ended)
    return ended


def sign_in_local(dbsession: Session, username: str, password: str, ip: str) -> User:
    """The account whose password this is; failures are recorded, logged and slowed down."""
    username = username.strip()[:150]
    verdict = throttle.check(dbsession, username, ip)
    if not verdict.allowed:
        log.warning("sign-in throttled for username %r from %s", username[:40], ip)
        raise SignInRefused("too many failed attempts", retry_after=verdict.retry_after)
    user = find_by_username(dbsession, username) if username else None
    matches = verify_password(user.password_hash if user else None, password)
    if user is None or not matches or not user.is_active:
        throttle.record_failure(dbsession, username, ip)
        log.warning("failed sign-in for username %r from %s", username[:40], ip)
        raise SignInRefused("wrong username or password")
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.record_success(dbsession, username)
    log.info("user %s signed in from %s", user.username, ip)
    return user


def sign_in_tequila(dbsession: Session, identity: Identity, autocreate: bool, ip: str) -> User:
    """The account of a person Tequila vouched for.

    Found by Tequila's ``uniqueid``; an account made beforehand (``polybanking user create``) with
    the same username and no identity yet is bound to it on first sign-in. Otherwise a new
    account with no rights is made when ``tequila.autocreate`` is on.
    """
    user = dbsession.scalar(select(User).where(User.external_id == identity.unique_id))
    if user is None:
        user = find_by_username(dbsession, identity.username)
        if user is not None and user.external_id is None:
            user.external_id = identity.unique_id
            log.info("account %s bound to Tequila identity %s", user.username, identity.unique_id)
        elif autocreate:
            username = identity.username if user is None else f"{identity.username}-{identity.unique_id}"
            try:
                user = create_user(dbsession, username, None, external_id=identity.unique_id)
            except UserError as error:
                raise SignInRefused(str(error)) from None
            log.info("account %s created on first Tequila sign-in", user.username)
        else:
            user = None
    if user is None or not user.is_active:
        log.warning("Tequila sign-in refused for %r (%s) from %s", identity.username, identity.unique_id, ip)
        raise SignInRefused("no active PolyBanking account for this person")
    log.info("user %s signed in with Tequila from %s", user.username, ip)
    return user
