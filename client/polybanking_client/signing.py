"""The PolyBanking signature (PROTOCOL §1), written from the protocol: this package imports nothing
from the gateway, so a website can install it alone."""

import hashlib
import hmac
from collections.abc import Mapping


def _escape(text: str) -> str:
    return text.replace(";", "!!").replace("=", "??")


def compute_sign(secret: str, data: Mapping[str, object]) -> str:
    """SHA-512 hex over ``name=value;SECRET;`` for each field, sorted by name (values as strings)."""
    text = "".join(f"{_escape(str(name))}={_escape(str(data[name]))};{secret};" for name in sorted(data))
    return hashlib.sha512(text.encode("utf-8")).hexdigest()


def sign_matches(secret: str, data: Mapping[str, object], signature: object) -> bool:
    """Whether ``signature`` is the one ``data`` should carry, compared in constant time."""
    expected = compute_sign(secret, data).encode("ascii")
    return hmac.compare_digest(str(signature or "").encode("utf-8"), expected)
