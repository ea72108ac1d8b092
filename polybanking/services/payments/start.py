"""Starting a payment (PROTOCOL §2); ``forward`` sends the shopper on to the platform (§3)."""

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Row, bindparam, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ...models import Config, Transaction, TransactionLog, mark_changed
from ...models.meta import MAX_ROW_ID
from ...models.transaction import REFERENCE_MAX_LENGTH
from ...signing import check_sign

log = logging.getLogger(__name__)

SIGNED_FIELDS = ("amount", "reference", "extra_data", "config_id")
MAX_AMOUNT = 10**12  # ten billion francs: beyond any real order, well inside BIGINT
MAX_EXTRA_DATA = 65536
#: What ``generate_token`` makes (URL-safe base64); anything else is not ours and never reaches
#: the database (PostgreSQL refuses NUL characters with an error, not an empty result).
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: The four columns a start needs, not the whole config (a rush is this query, thousands of times).
_CONFIG_FOR_START = select(Config.key_request, Config.max_amount, Config.active, Config.admin_enable).where(
    Config.id == bindparam("config_id")
)
#: A new transaction, or nothing when (config_id, reference) is taken: INSERT … ON CONFLICT DO NOTHING
#: RETURNING. Built once, so each start reuses the compiled statement; the token and the dates come
#: from the columns' defaults.
_NEW_TRANSACTION = {
    "config_id": bindparam("new_config_id"),
    "reference": bindparam("new_reference"),
    "extra_data": bindparam("new_extra_data"),
    "amount": bindparam("new_amount"),
}
_RETURNED = (Transaction.id, Transaction.token, Transaction.creation_date)
_CREATE_SQLITE = (
    sqlite.insert(Transaction)
    .values(_NEW_TRANSACTION)
    .on_conflict_do_nothing(index_elements=["config_id", "reference"])
    .returning(*_RETURNED)
)
_LOG_CREATED = insert(TransactionLog).values(log_type="created")
#: PostgreSQL: the transaction and its "created" log in one statement (a roundtrip less per start).
_created = (
    postgresql.insert(Transaction)
    .values(_NEW_TRANSACTION)
    .on_conflict_do_nothing(index_elements=["config_id", "reference"])
    .returning(*_RETURNED)
    .cte("created")
)
_CREATE_POSTGRESQL = select(_created.c.id, _created.c.token).add_cte(
    insert(TransactionLog)
    .from_select(
        ["transaction_id", "when", "log_type", "extra_data"],
        select(_created.c.id, _created.c.creation_date, literal("created"), literal("")),
    )
    .cte("created_log")
)


class StartError(Exception):
    """A refused start; ``status`` is the word of PROTOCOL §2 the website reads."""

    def __init__(self, status: str, reason: str):
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


@dataclass(frozen=True)
class _StartConfig:
    id: int
    key_request: str
    max_amount: int | None


@dataclass(frozen=True)
class StartedPayment:
    """What the website is told: the ``go`` link is built from the token."""

    id: int
    token: str


def _find_config(connection: Connection, config_id: str) -> _StartConfig:
    if not _digits(config_id) or len(config_id) > 18:
        raise StartError("CONFIG_ERROR", "config_id is not a number")
    if int(config_id) > MAX_ROW_ID:
        raise StartError("CONFIG_ERROR", "unknown or disabled config")
    row = connection.execute(_CONFIG_FOR_START, {"config_id": int(config_id)}).first()
    if row is None or not (row.active and row.admin_enable):  # Config.usable, from its two columns
        raise StartError("CONFIG_ERROR", "unknown or disabled config")
    return _StartConfig(id=int(config_id), key_request=row.key_request, max_amount=row.max_amount)


def _amount(config: _StartConfig, raw: str) -> int:
    if not _digits(raw) or len(raw) > 15:
        raise StartError("AMOUNT_ERROR", "amount is not a whole number of cents")
    amount = int(raw)
    if amount <= 0:
        raise StartError("AMOUNT_ERROR", "amount must be positive")
    if amount > (config.max_amount or MAX_AMOUNT):
        raise StartError("AMOUNT_ERROR", "amount above the config's maximum")
    return amount


def _reference(reference: str) -> str:
    if not reference:
        raise StartError("REFERENCE_ERROR", "reference is empty")
    if len(reference) > REFERENCE_MAX_LENGTH:
        raise StartError("REFERENCE_ERROR", "reference is too long")
    if "\x00" in reference:
        raise StartError("REFERENCE_ERROR", "reference contains a NUL character")
    return reference


def _create(connection: Connection, values: dict) -> Row | None:
    """The transaction and its "created" log; None, and nothing written, if the reference is taken."""
    if connection.dialect.name == "postgresql":
        return connection.execute(_CREATE_POSTGRESQL, values).first()
    created = connection.execute(_CREATE_SQLITE, values).first()
    if created is not None:
        connection.execute(_LOG_CREATED, {"transaction_id": created.id, "when": created.creation_date})
    return created


def start_payment(dbsession: Session, params: Mapping[str, str]) -> StartedPayment:
    """Check a website's signed request in PROTOCOL order and create the transaction.

    Core statements on the request's connection, not ORM objects: the same rows and the same
    transaction (committed by pyramid_tm), at a fraction of the CPU, which is what a rush is made of.
    """
    connection = dbsession.connection()
    fields = {name: params.get(name, "") for name in SIGNED_FIELDS}
    config = _find_config(connection, fields["config_id"])
    if not check_sign(config.key_request, fields, params.get("sign")):
        raise StartError("KEY_ERROR", "signature does not match")
    amount = _amount(config, fields["amount"])
    reference = _reference(fields["reference"])
    extra_data = fields["extra_data"]
    if len(extra_data) > MAX_EXTRA_DATA or "\x00" in extra_data:
        # PROTOCOL §2's order: a used reference is reported before bad extra_data.
        taken = connection.scalar(
            select(Transaction.id).where(
                Transaction.config_id == config.id, Transaction.reference == reference
            )
        )
        if taken is not None:
            raise StartError("REFERENCE_ERROR", "reference already used")
        raise StartError("ERROR", "extra_data is too long or contains a NUL character")

    # The unique constraint decides (never a check-then-insert): a used reference, or a concurrent
    # start with the same one, inserts nothing; a start that waits for the other's commit then
    # loses too. One statement instead of a check, a savepoint and an insert: a rush is roundtrips.
    created = _create(
        connection,
        {
            "new_config_id": config.id,
            "new_reference": reference,
            "new_extra_data": extra_data,
            "new_amount": amount,
        },
    )
    if created is None:
        raise StartError("REFERENCE_ERROR", "reference already used")
    mark_changed(dbsession)  # Core writes: pyramid_tm must commit, not roll back
    return StartedPayment(id=created.id, token=created.token)
