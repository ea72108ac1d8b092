"""The PolyBanking signature (PROTOCOL §1) shared by websites and the gateway.

Pure functions: no Pyramid, no database, so the client library and tests can mirror them exactly.
"""

import hashlib
import hmac
from collections.abc import Mapping


def constant_time_equals(a: str, b: str) -> bool:
    """Compare secrets without an early exit on the first differing character."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _escape(text: str) -> str:
    return text.replace(";", "!!").replace("=", "??")


def compute_sign(secret: str, params: Mapping[str, str]) -> str:
    """SHA-512 hex of ``name=value;SECRET;`` for each parameter, sorted by name."""
    parts = []
    for name in sorted(params):
        parts.append(f"{_escape(name)}={_escape(str(params[name]))};{secret};")
    return hashlib.sha512("".join(parts).encode("utf-8")).hexdigest()


def check_sign(secret: str, params: Mapping[str, str], signature: str | None) -> bool:
    """Constant-time comparison of ``signature`` with the one ``params`` should carry."""
    expected = compute_sign(secret, params).encode("ascii")
    given = (signature or "").strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)
