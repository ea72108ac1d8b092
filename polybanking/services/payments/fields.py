"""A transaction and its log lines as websites and exports see them (PROTOCOL §7): one place.

The API's detail answer, the CSV columns and the JSON/XML exports all come from these two
functions, so they cannot drift apart. Both take an ORM object or any row with the same column
names: exports stream plain rows, because building a million ORM objects costs several times the
query itself. The derived values are the models' properties' (see below).

Dates are written by ``date`` (default :func:`.ipn.format_date`). An export passes
:func:`as_text` instead, with the dates already written by the database in the same
``YYYY-MM-DD HH:MM:SS+00:00`` form (a tested equality): formatting millions of dates in Python
would take longer than the whole query.
"""

from collections.abc import Callable
from typing import Any

from ...models.transaction import INTERNAL_STATUS_TEXT
from ...models.transaction_log import LOG_TYPE_TEXT
from ...platforms.epayment.statuses import status_text
from ..ipn.payload import format_date

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


def as_text(value: str | None) -> str:
    """A date the database already wrote in PROTOCOL's form; ``""`` when there is none."""
    return value or ""


DateWriter = Callable[[Any], str]


def transaction_detail(transaction: Any, date: DateWriter = format_date) -> dict[str, Any]:
    """PROTOCOL §7's ``data`` object: strings as the original sent them, ``amount_chf`` a number,
    dates ``YYYY-MM-DD HH:MM:SS+00:00`` and ``""`` for a missing value.

    ``transaction`` is a :class:`Transaction` or a row carrying ``TRANSACTION_COLUMNS``.
    """
    t = transaction
    return {
        "reference": t.reference,
        "extra_data": t.extra_data or "",
        "amount": str(t.amount),
        "amount_chf": t.amount / 100,
        "postfinance_id": t.postfinance_id or "",
        "postfinance_status": t.postfinance_status or "",
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


def log_detail(log: Any, date: DateWriter = format_date) -> dict[str, str]:
    """One entry of PROTOCOL §7's ``logs`` answer; ``log`` is a :class:`TransactionLog` or a row
    carrying ``LOG_COLUMNS``."""
    return {
        "when": date(log.when),
        "extra_data": log.extra_data or "",
        "log_type": log.log_type,
        "log_type_text": LOG_TYPE_TEXT.get(log.log_type, log.log_type),
    }
