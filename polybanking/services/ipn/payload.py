"""What a website is told about its payment (PROTOCOL §6), and how an IPN becomes due.

The IPN is the signed form of PROTOCOL §6 plus the Standard Webhooks headers (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``) so that a website can also reject replays. A config
may ask for a Standard Webhooks JSON body instead (``ipn_format = json``), which says more: the
amount, the refunded amount and whether the payment was a test. Delivery itself (claim, HTTP,
retries) is in outbox.py, sender.py and delivery.py beside this module.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from ...models import Transaction, TransactionLog
from ...models.config import IPN_JSON
from ...models.meta import utcnow
from ...platforms import CURRENCY
from ...signing import compute_sign

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"
#: The Standard Webhooks ``type`` of every JSON IPN: the transaction as it is now.
EVENT_TYPE = "transaction.updated"


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


def ipn_event(transaction: Transaction) -> dict:
    """The JSON body: Standard Webhooks' ``{type, timestamp, data}``. ``data`` says what the form
    says (as JSON types: ``config`` a number, ``postfinance_status_good`` a boolean; no ``sign``,
    the headers' signature covers the body), plus the amounts in cents as strings (as the API
    writes them), the currency and ``test_mode``."""
    reported = transaction.last_postfinance_update or transaction.creation_date
    return {
        "type": EVENT_TYPE,
        "timestamp": reported.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "data": {
            "config": transaction.config_id,
            "reference": transaction.reference,
            "postfinance_status": transaction.postfinance_status or "",
            "postfinance_status_good": bool(transaction.postfinance_status_good),
            "last_update": format_date(transaction.last_postfinance_update),
            "amount": str(transaction.amount),
            "refunded_amount": str(transaction.refunded_amount or 0),
            "currency": CURRENCY,
            "test_mode": transaction.config.test_mode,
        },
    }


def webhook_id(transaction_id: int, fields: Mapping[str, str], *more: str) -> str:
    """Standard Webhooks message id: the same for every retry of one message, new when what is said
    changes (another status or report time; ``more``: what else the body says, such as the
    refunded amount of a JSON body), so a website may use it to drop duplicates."""
    content = "|".join((str(transaction_id), fields["postfinance_status"], fields["last_update"], *more))
    return "msg_" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class IpnMessage:
    """What one IPN says, as posted: ``fields`` (the form's, kept for the status it carries), the
    exact ``body`` the signature covers, its content type and its ``webhook-id``."""

    fields: dict[str, str]
    body: bytes
    content_type: str
    webhook_id: str


def ipn_message(transaction: Transaction) -> IpnMessage:
    """The IPN for the transaction as it is now, in its config's format."""
    fields = ipn_fields(transaction)
    if transaction.config.ipn_format != IPN_JSON:
        return IpnMessage(fields, encode_body(fields), FORM_CONTENT_TYPE, webhook_id(transaction.id, fields))
    event = ipn_event(transaction)
    body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    message_id = webhook_id(transaction.id, fields, "json", event["data"]["refunded_amount"])
    return IpnMessage(fields, body, JSON_CONTENT_TYPE, message_id)


def webhook_signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: ``v1,`` + base64 of HMAC-SHA256 over ``id.timestamp.body``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def webhook_headers(
    key_ipn: str, message_id: str, timestamp: int, body: bytes, content_type: str = FORM_CONTENT_TYPE
) -> dict[str, str]:
    """The headers of one attempt. The HMAC key is the UTF-8 bytes of the config's ``key_ipn``
    (any key works, including secrets carried over from the original PolyBanking); with the
    ``standardwebhooks`` library a website passes ``key_ipn.encode()`` as the secret."""
    return {
        "Content-Type": content_type,
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
