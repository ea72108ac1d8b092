"""The websites' API (PROTOCOL §7): who is asking, and what their transactions look like on the wire.

A config's ``key_api`` is its only credential here. The check never tells an unknown config from a
wrong secret, neither by its answer nor by its time: the secret is compared with a dummy of the
same length when the config does not exist, always in constant time.
"""

from datetime import tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Config, Transaction, TransactionLog
from ...models.config import generate_secret
from ...models.meta import MAX_ROW_ID
from ...signing import constant_time_equals
from . import fields as transaction_fields

DEFAULT_MAX_TRANSACTIONS = 100
MAX_TRANSACTIONS_CAP = 1000

#: Compared with the given secret when no config matches, so that path costs what a real one does.
_DUMMY_KEY_API = generate_secret()


class ApiRefused(Exception):
    """A request the API answers with ``{"result": "error"}`` and this HTTP status."""

    def __init__(self, http_status: int, message: str):
        super().__init__(message)
        self.http_status = http_status
        self.message = message


def _row_id(value: str) -> int | None:
    """A primary key from a form field, or None (never a query with a value the column cannot hold)."""
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    number = int(value)
    return number if 0 < number <= MAX_ROW_ID else None


def authenticate(dbsession: Session, config_id: str | None, secret: str | None) -> Config:
    """The config whose ``key_api`` is ``secret``; ApiRefused(403) for anything else.

    A refusal costs the same whether the config exists or not: the same one-row query (no object
    loaded), the same comparison (with a dummy key when there is no row). An admin-disabled config
    is refused too; one its website switched off (``active`` false) still reads its transactions,
    as payments made before keep changing (refunds, late reports).
    """
    row_id = _row_id(config_id or "")
    row = None
    if row_id is not None:
        query = select(Config.key_api, Config.admin_enable).where(Config.id == row_id)
        row = dbsession.execute(query).first()
    expected = row.key_api if row is not None else _DUMMY_KEY_API
    secret_matches = constant_time_equals(secret or "", expected)
    if row is None or not secret_matches or not row.admin_enable:
        raise ApiRefused(403, "wrong or missing credentials")
    return dbsession.get(Config, row_id)


def parse_max_transaction(raw: str | None) -> int:
    """``max_transaction`` of the list: default 100; anything but digits is a 400. More than the
    cap is kept as "more than the cap" (the answer then says it was cut)."""
    if raw is None:
        return DEFAULT_MAX_TRANSACTIONS
    if not (raw.isascii() and raw.isdigit()):
        raise ApiRefused(400, "max_transaction must be a whole number, 0 or more")
    if len(raw.lstrip("0")) > len(str(MAX_TRANSACTIONS_CAP)):  # int() of huge strings is slow or refused
        return MAX_TRANSACTIONS_CAP + 1
    return int(raw)


def find_transaction(dbsession: Session, config: Config, reference: str) -> Transaction:
    """The config's transaction with this reference; ApiRefused(404) when it has none.

    The reference is looked up within the authenticated config only, so one website's secret never
    reaches another's transactions, whatever reference it asks for.
    """
    transaction = None
    if "\x00" not in reference:  # never stored (refused at start); PostgreSQL fails on one
        transaction = dbsession.scalar(
            select(Transaction).where(Transaction.config_id == config.id, Transaction.reference == reference)
        )
    if transaction is None:
        raise ApiRefused(404, "no transaction with this reference")
    return transaction


def list_references(dbsession: Session, config: Config, asked: int) -> dict:
    """The ``{"result": "ok", "data": [{"reference": ...}, ...]}`` answer, newest first, with what
    was asked up to ``MAX_TRANSACTIONS_CAP``; when more were asked and there are more, the answer
    says so (``"truncated": true, "limit": 1000``) instead of stopping silently."""
    limit = min(asked, MAX_TRANSACTIONS_CAP)
    references = list(
        dbsession.scalars(
            select(Transaction.reference)
            .where(Transaction.config_id == config.id)
            .order_by(Transaction.creation_date.desc(), Transaction.id.desc())
            .limit(limit + 1)
        )
    )
    answer: dict = {"result": "ok", "data": [{"reference": reference} for reference in references[:limit]]}
    if asked > limit and len(references) > limit:
        answer.update(truncated=True, limit=MAX_TRANSACTIONS_CAP)
    return answer


def transaction_detail(transaction: Transaction, zone: tzinfo) -> dict[str, str | float]:
    """The fields of PROTOCOL §7 (one definition, shared with the exports), dates in ``zone``
    (``polybanking.timezone``)."""
    return transaction_fields.transaction_detail(transaction, transaction_fields.local_dates(zone))


def transaction_logs(dbsession: Session, transaction: Transaction, zone: tzinfo) -> list[dict[str, str]]:
    """The transaction's story, newest first, dates in ``zone``."""
    date = transaction_fields.local_dates(zone)
    logs = dbsession.scalars(
        select(TransactionLog)
        .where(TransactionLog.transaction_id == transaction.id)
        .order_by(TransactionLog.when.desc(), TransactionLog.id.desc())
    )
    return [transaction_fields.log_detail(log, date) for log in logs]
