"""The PolyBanking signature (section 1 of the project's docs/websites.md), written from the
protocol: this package imports nothing from the gateway, so a website can install it alone."""

import base64
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


def webhook_signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    """Standard Webhooks ``v1`` signature: base64 of HMAC-SHA256 over ``id.timestamp.body``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def webhook_headers_match(
    key: bytes, headers: Mapping[str, str], body: bytes, now: float, tolerance: int = 300
) -> bool:
    """Whether an IPN's ``webhook-*`` headers are signed with ``key`` and recent enough (no replay)."""
    lowered = {str(name).lower(): str(value) for name, value in headers.items()}
    message_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    if not message_id or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = webhook_signature(key, message_id, timestamp, body).encode("ascii")
    for candidate in lowered.get("webhook-signature", "").split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode("utf-8", "replace"), expected):
            return True
    return False
