"""Checkout's webhooks (PROTOCOL §11): read, and their ``X-Signature`` verified with the SDK.

A webhook only says "look again": once its signature is verified, the gateway reads the entity
through the API and trusts only that answer. The public keys are cached: a key id names one key
for good, and fetching it for every webhook would double Checkout's calls.
"""

import json
import re
import threading
import time
from dataclasses import dataclass

from .. import PlatformError
from .platform import CheckoutPlatform, describe, sdk_errors

#: The SDK's own pattern for the header (``WebhookEncryptionKeysService.is_content_valid``).
SIGNATURE_HEADER = re.compile(
    r"^algorithm=([a-zA-Z0-9]+),\skeyId=([a-z0-9\-]+),\s{1}signature=([a-zA-Z0-9+\/=]+)$"
)
MAX_BODY = 64 * 1024
ENTITIES = ("Transaction", "Refund")


class WebhookRejected(Exception):
    """A webhook we do not act on; ``http_status`` is the answer's."""

    def __init__(self, http_status: int, reason: str):
        super().__init__(reason)
        self.http_status = http_status
        self.reason = reason


@dataclass(frozen=True)
class Webhook:
    """What a webhook names (untrusted until verified; even then, only a reason to look again)."""

    entity: str
    entity_id: int
    space_id: int
    state: str
    event_id: int | None


def parse(body: bytes) -> Webhook:
    if len(body) > MAX_BODY:
        raise WebhookRejected(413, "webhook body too large")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejected(400, "webhook body is not JSON") from None
    if not isinstance(data, dict):
        raise WebhookRejected(400, "webhook body is not an object")
    entity_id, space_id = data.get("entityId"), data.get("spaceId")
    if not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**63 for v in (entity_id, space_id)
    ):
        raise WebhookRejected(400, "webhook without entityId or spaceId")
    entity = data.get("listenerEntityTechnicalName")
    if entity not in ENTITIES:
        raise WebhookRejected(400, f"webhook for an entity we do not listen to: {str(entity)[:40]!r}")
    state = data.get("state")
    event_id = data.get("eventId")
    return Webhook(
        entity=entity,
        entity_id=entity_id,
        space_id=space_id,
        state=state[:32] if isinstance(state, str) else "",
        event_id=event_id if isinstance(event_id, int) and not isinstance(event_id, bool) else None,
    )


class PublicKeys:
    """Checkout's webhook public keys, by API and key id (bounded: ids change rarely).

    Ids Checkout does not know are remembered for a while too, so that forged webhooks naming
    made-up ids cannot make the gateway call Checkout once each.
    """

    def __init__(self, limit: int = 32, forget_unknown_after: float = 300.0):
        self._keys: dict[tuple[str, str], str] = {}
        self._unknown: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._limit = limit
        self._forget_after = forget_unknown_after

    def _refused(self, cache_key: tuple[str, str]) -> None:
        with self._lock:
            now = time.monotonic()
            self._unknown = {k: until for k, until in self._unknown.items() if until > now}
            if len(self._unknown) < 4 * self._limit:
                self._unknown[cache_key] = now + self._forget_after
        raise WebhookRejected(401, f"unknown signing key {cache_key[1]}")

    def get(self, platform: CheckoutPlatform, key_id: str) -> str:
        cache_key = (platform.api_url, key_id)
        with self._lock:
            known = self._keys.get(cache_key)
            unknown_until = self._unknown.get(cache_key, 0.0)
        if known is not None:
            return known
        if unknown_until > time.monotonic():
            raise WebhookRejected(401, f"unknown signing key {key_id}")
        from postfinancecheckout.service import WebhookEncryptionKeysService

        service = WebhookEncryptionKeysService(platform.configuration())
        try:
            key = service.get_webhooks_encryption_keys_id(key_id)
        except sdk_errors() as error:
            if getattr(error, "status", None) == 404:
                self._refused(cache_key)
            raise PlatformError(describe(error)) from error
        if not isinstance(key, str) or not key:
            self._refused(cache_key)
        with self._lock:
            if len(self._keys) >= self._limit:
                self._keys.pop(next(iter(self._keys)))
            self._keys[cache_key] = key
        return key


#: The process's cache (each worker and web process asks at most once per key).
PUBLIC_KEYS = PublicKeys()


def verify(
    platform: CheckoutPlatform, signature_header: str, body: bytes, keys: PublicKeys = PUBLIC_KEYS
) -> None:
    """Raise WebhookRejected unless ``body`` carries a valid signature of Checkout's (the SDK checks)."""
    if not signature_header:
        raise WebhookRejected(401, "webhook without X-Signature")
    match = SIGNATURE_HEADER.match(signature_header)
    if match is None:
        raise WebhookRejected(401, "malformed X-Signature")
    algorithm, key_id, signature = match.groups()
    public_key = keys.get(platform, key_id)
    from postfinancecheckout.utils.encryption_util import EncryptionUtil

    try:
        valid = EncryptionUtil.is_content_valid(body.decode("utf-8"), signature, public_key, algorithm)
    except (*sdk_errors(), UnicodeDecodeError, TypeError) as error:
        raise WebhookRejected(401, f"signature not verifiable: {str(error)[:100]}") from None
    if not valid:
        raise WebhookRejected(401, "X-Signature does not match the body")
