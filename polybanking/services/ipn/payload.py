"""What a website is told about its payment (PROTOCOL §6), and how an IPN becomes due.

The IPN is the signed form of PROTOCOL §6 plus the Standard Webhooks headers (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``) so that a website can also reject replays. Delivery
itself (claim, HTTP, retries) is in outbox.py, sender.py and delivery.py beside this module.
"""

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from ...models import Transaction, TransactionLog
from ...models.meta import utcnow
from ...signing import compute_sign

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def format_date(value: datetime | None) -> str:
    """``YYYY-MM-DD HH:MM:SS+00:00``: existing clients cut the last 6 characters and parse the rest.

    ``isoformat`` rather than ``strftime``: twice as fast, which an export of a million rows feels.
    """
    if value is None:
        return ""
    if value.tzinfo is None:  # the models' dates are always aware; a naive one is taken as UTC
        return value.isoformat(" ", "seconds") + "+00:00"
    return value.astimezone(UTC).isoformat(" ", "seconds")


def ipn_fields(transaction: Transaction) -> dict[str, str]:
    """The signed form of PROTOCOL §6 for the transaction as it is now."""
    fields = {
        "config": str(transaction.config_id),
        "reference": transaction.reference,
        "postfinance_status": transaction.postfinance_status or "",
        "postfinance_status_good": str(transaction.postfinance_status_good),
        "last_update": format_date(transaction.last_postfinance_update),
    }
    fields["sign"] = compute_sign(transaction.config.key_ipn, fields)
    return fields


def encode_body(fields: Mapping[str, str]) -> bytes:
    """The exact bytes posted, which the webhook signature covers."""
    return urlencode(fields).encode("ascii")


def webhook_id(transaction_id: int, fields: Mapping[str, str]) -> str:
    """Standard Webhooks message id: the same for every retry of one message, new when what is said
    changes (another status or report time), so a website may use it to drop duplicates."""
    content = "|".join((str(transaction_id), fields["postfinance_status"], fields["last_update"]))
    return "msg_" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]


def webhook_signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: ``v1,`` + base64 of HMAC-SHA256 over ``id.timestamp.body``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def webhook_headers(key_ipn: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one attempt. The HMAC key is the UTF-8 bytes of the config's ``key_ipn``
    (any key works, including secrets carried over from the original PolyBanking); with the
    ``standardwebhooks`` library a website passes ``key_ipn.encode()`` as the secret."""
    return {
        "Content-Type": FORM_CONTENT_TYPE,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(key_ipn.encode("utf-8"), message_id, timestamp, body),
    }


def mark_due(transaction: Transaction, now: datetime) -> None:
    """The outbox (DESIGN.md): the IPN is due now and its retry schedule starts again.

    Written in the same database transaction as whatever made it due (a status change, a resend),
    so a lost queue message or a crashed worker only delays the IPN.
    """
    transaction.ipn_needed = True
    transaction.ipn_failed = False
    transaction.ipn_attempts = 0
    transaction.ipn_next_attempt_at = now


def request_resend(
    dbsession: Session,
    transaction: Transaction,
    *,
    by: str = "",
    why: str = "",
    now: datetime | None = None,
) -> None:
    """Make the transaction's IPN due now again (an operator's resend), and log who asked.

    The caller then queues ``request.registry.tasks.send_ipn(transaction.id)`` after commit; should
    that message be lost, the outbox scan sends it anyway. ``now`` is the deliverer's clock, when a
    caller (a test) runs the outbox on another one than the wall clock.
    """
    now = now or utcnow()
    mark_due(transaction, now)
    text = "resend requested" + (f" by {by}" if by else "") + (f": {why}" if why else "")
    dbsession.add(TransactionLog(transaction=transaction, log_type="ipnResend", extra_data=text, when=now))
