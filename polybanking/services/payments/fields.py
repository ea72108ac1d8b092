"""A transaction and its log lines as websites and exports see them (PROTOCOL §7): one place.

The API's detail answer, the CSV columns and the JSON/XML exports all come from these two
functions, so they cannot drift apart. Both take an ORM object or any row with the same column
names: exports stream plain rows, because building a million ORM objects costs several times the
query itself. The derived values are the models' properties' (see below).

Dates are the organisation's local time with their offset (``polybanking.timezone``), as the
original sent them: ``YYYY-MM-DD HH:MM:SS+01:00``, whole seconds. They are written by ``date``:
:func:`local_dates` for datetimes; an export passes :func:`local_text_dates` instead, which turns
the UTC text the database already wrote into local text by a per-hour lookup (a tested equality):
converting millions of datetimes in Python would take longer than the whole query.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from ...models.transaction import INTERNAL_STATUS_TEXT
from ...models.transaction_log import LOG_TYPE_TEXT
from ...platforms.epayment.statuses import status_text as postfinance_status_text

#: PROTOCOL §7's detail fields, in the order of the CSV columns.
DETAIL_FIELDS = (
    "reference",
    "extra_data",
    "amount",
    "amount_chf",
    "postfinance_id",
    "postfinance_status",
    "internal_status",
    "ipn_needed",
    "brand",
    "card",
    "creation_date",
    "last_userforwarded_date",
    "last_user_back_from_postfinance_date",
    "last_postfinance_ipn_date",
    "last_ipn_date",
    "postfinance_status_text",
    "internal_status_text",
    "refunded_amount",
)

DATE_FIELDS = (
    "creation_date",
    "last_userforwarded_date",
    "last_user_back_from_postfinance_date",
    "last_postfinance_ipn_date",
    "last_ipn_date",
)

#: The ``transactions`` columns ``transaction_detail`` reads (what a streaming query selects).
TRANSACTION_COLUMNS = (
    "reference",
    "extra_data",
    "amount",
    "postfinance_id",
    "postfinance_status",
    "internal_status",
    "ipn_needed",
    "brand",
    "card",
    *DATE_FIELDS,
    "refunded_amount",
)

LOG_FIELDS = ("when", "extra_data", "log_type", "log_type_text")

#: The ``transaction_logs`` columns ``log_detail`` reads.
LOG_COLUMNS = ("when", "extra_data", "log_type")

# What the models' properties (amount_chf, postfinance_status_text, internal_status_text,
# log_type_text) compute, from the same functions and tables, written out: four fewer function
# calls per row are a tenth of a million-row export (the tests hold both to the same values).


#: What the original answered before PostFinance's first feedback (``str(None)`` for the PAYID).
NO_PAYID = "None"
NO_STATUS = "??"
NO_STATUS_TEXT = "Unknow"  # sic: the original's text, which websites show

DateWriter = Callable[[Any], str]


def local_dates(zone: tzinfo) -> DateWriter:
    """A writer of aware datetimes as ``YYYY-MM-DD HH:MM:SS+01:00`` in ``zone``; ``""`` for None."""

    def write(value: datetime | None) -> str:
        if value is None:
            return ""
        if value.tzinfo is None:  # the models' dates are always aware; a naive one is taken as UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(zone).isoformat(" ", "seconds")

    return write


def _hour_in(zone: tzinfo, utc_hour: str) -> tuple[str, str] | None:
    """The local ``YYYY-MM-DD HH`` and ``+01:00`` of a UTC hour (``YYYY-MM-DD HH``), or None when
    the offset changes within it or is not whole hours (minutes would then move too)."""
    start = datetime.fromisoformat(utc_hour + ":00:00+00:00")
    first, last = start.astimezone(zone), (start + timedelta(seconds=3599)).astimezone(zone)
    offset = first.utcoffset()
    if offset != last.utcoffset() or offset is None or offset.total_seconds() % 3600:
        return None
    text = first.isoformat(" ", "seconds")
    return text[:13], text[19:]


def local_text_dates(zone: tzinfo) -> DateWriter:
    """A writer of UTC dates as the database writes them (``YYYY-MM-DD HH:MM:SS`` and anything
    after) as :func:`local_dates` would; ``""`` for None. One conversion per hour, cached: the
    minutes and seconds are copied."""
    hours: dict[str, tuple[str, str] | None] = {}
    slow = local_dates(zone)

    def write(stored: str | None) -> str:
        if not stored:
            return ""
        key = stored[:13]
        try:
            hour = hours[key]
        except KeyError:
            hour = hours[key] = _hour_in(zone, key)
        if hour is None:
            return slow(datetime.fromisoformat(stored[:19] + "+00:00"))
        return hour[0] + stored[13:19] + hour[1]

    return write


def status_text(code: str | None) -> str:
    """PROTOCOL §5's text of a status, ``Unknow`` before any feedback."""
    return NO_STATUS_TEXT if not code or code == NO_STATUS else postfinance_status_text(code)


def transaction_detail(transaction: Any, date: DateWriter) -> dict[str, Any]:
    """PROTOCOL §7's ``data`` object: strings as the original sent them, ``amount_chf`` a number,
    dates local ``YYYY-MM-DD HH:MM:SS+01:00`` and ``""`` for a missing value, ``"None"`` and
    ``"??"`` for the PAYID and status before any feedback.

    ``transaction`` is a :class:`Transaction` or a row carrying ``TRANSACTION_COLUMNS``.
    """
    t = transaction
    return {
        "reference": t.reference,
        "extra_data": t.extra_data or "",
        "amount": str(t.amount),
        "amount_chf": t.amount / 100,
        "postfinance_id": t.postfinance_id or NO_PAYID,
        "postfinance_status": t.postfinance_status or NO_STATUS,
        "internal_status": t.internal_status,
        "ipn_needed": "True" if t.ipn_needed else "False",
        "brand": t.brand or "",
        "card": t.card or "",
        "creation_date": date(t.creation_date),
        "last_userforwarded_date": date(t.last_userforwarded_date),
        "last_user_back_from_postfinance_date": date(t.last_user_back_from_postfinance_date),
        "last_postfinance_ipn_date": date(t.last_postfinance_ipn_date),
        "last_ipn_date": date(t.last_ipn_date),
        "postfinance_status_text": status_text(t.postfinance_status),
        "internal_status_text": INTERNAL_STATUS_TEXT.get(t.internal_status, t.internal_status),
        "refunded_amount": str(t.refunded_amount or 0),
    }


def log_detail(log: Any, date: DateWriter) -> dict[str, str]:
    """One entry of PROTOCOL §7's ``logs`` answer; ``log`` is a :class:`TransactionLog` or a row
    carrying ``LOG_COLUMNS``."""
    return {
        "when": date(log.when),
        "extra_data": log.extra_data or "",
        "log_type": log.log_type,
        "log_type_text": LOG_TYPE_TEXT.get(log.log_type, log.log_type),
    }
