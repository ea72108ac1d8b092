"""Checkout's request authentication, as the API checks it (PROTOCOL §11).

A request carries ``Authorization: Bearer <JWT>``: HS256 with the application user's
base64-decoded key, header ``ver: 1``, claims ``sub`` (user id), ``iat``, ``requestPath`` (path
and query under ``/api/v2.0``) and ``requestMethod``; the space is the ``Space`` header.
"""

import base64
import hmac
import time
from dataclasses import dataclass

import jwt

#: How far ``iat`` may be from the sandbox's clock (Checkout refuses stale tokens).
MAX_SKEW_SECONDS = 300


@dataclass(frozen=True)
class Account:
    """One space and its application user, from the ini's ``checkout.<env>.*``."""

    space_id: int
    user_id: int
    key: str


def _signed(token: str, key: str) -> bool:
    try:
        jwt.decode(
            token,
            base64.b64decode(key),
            algorithms=["HS256"],
            options={"verify_iat": False, "verify_sub": False},
        )
    except jwt.PyJWTError:
        return False
    return True


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def authenticate(
    accounts: list[Account], authorization: str, space_header: str | None, method: str, path_qs: str
) -> Account:
    """The account a request is signed for; Refused (401/403) otherwise."""
    if not authorization.startswith("Bearer "):
        raise Refused(401, "UNAUTHORIZED", "missing bearer token")
    token = authorization[len("Bearer ") :].strip()
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Refused(401, "UNAUTHORIZED", "malformed token") from None
    if header.get("alg") != "HS256" or header.get("ver") != 1:
        raise Refused(401, "UNAUTHORIZED", "unsupported token version or algorithm")
    verified = [a for a in accounts if str(a.user_id) == str(claims.get("sub")) and _signed(token, a.key)]
    if not verified:
        raise Refused(401, "UNAUTHORIZED", "the token's signature does not match")
    if space_header is not None:
        if not space_header.isdigit():
            raise Refused(403, "FORBIDDEN", "the Space header is not a space id")
        verified = [a for a in verified if a.space_id == int(space_header)]
        if not verified:
            raise Refused(403, "FORBIDDEN", "the application user has no access to this space")
    account = verified[0]
    iat = claims.get("iat")
    if not isinstance(iat, int) or abs(time.time() - iat) > MAX_SKEW_SECONDS:
        raise Refused(401, "UNAUTHORIZED", "the token is stale (iat)")
    if claims.get("requestMethod") != method or not hmac.compare_digest(
        str(claims.get("requestPath", "")), path_qs
    ):
        raise Refused(401, "UNAUTHORIZED", "the token was made for another request")
    return account
