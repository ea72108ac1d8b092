"""Local passwords: argon2id hashes (argon2-cffi's defaults), checked in constant time.

An unknown username costs the same hash as a known one, so timing tells nobody which accounts exist.
"""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("polybanking: no such user")

MIN_LENGTH = 8
MAX_LENGTH = 1024  # argon2 takes any length; this only bounds the work a request can ask for


class WeakPassword(ValueError):
    """A password that we refuse to set; the message says why."""


def check_new_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password may have at most {MAX_LENGTH} characters")
    if "\x00" in password:
        raise WeakPassword("the password may not contain a NUL character")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_new_password(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; a missing hash (external accounts) never matches."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
