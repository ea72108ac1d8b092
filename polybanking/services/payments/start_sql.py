"""The statements of a start, built once so each start reuses the compiled SQL (a rush is these
statements, thousands of times a second)."""

from sqlalchemy import (
    BigInteger,
    Connection,
    Executable,
    Row,
    Select,
    bindparam,
    exists,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from ...models import Config, Transaction, TransactionLog

#: The four columns a start needs, not the whole config (a rush is this query, thousands of times).
CONFIG_FOR_START = select(Config.key_request, Config.max_amount, Config.active, Config.admin_enable).where(
    Config.id == bindparam("config_id")
)
#: The new transaction's values. The statements are built once, so each start reuses the compiled
#: statement; the token and the dates come from the columns' defaults.
_NEW_TRANSACTION = {
    "config_id": bindparam("new_config_id"),
    "reference": bindparam("new_reference"),
    "extra_data": bindparam("new_extra_data"),
    "amount": bindparam("new_amount"),
}
_RETURNED = (Transaction.id, Transaction.token, Transaction.creation_date)
_LOG_CREATED = insert(TransactionLog).values(log_type="created")


def _create_statements(rows: Select | None) -> tuple[Executable, Executable]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING, of the bound values or of ``rows`` (a SELECT of
    them that may yield nothing), for SQLite and for PostgreSQL (there with the transaction's
    "created" log in the same statement: a roundtrip less per start)."""

    def new(dialect_insert):
        statement = dialect_insert(Transaction)
        if rows is None:
            statement = statement.values(_NEW_TRANSACTION)
        else:
            statement = statement.from_select(list(_NEW_TRANSACTION), rows)
        return statement.on_conflict_do_nothing(index_elements=["config_id", "reference"]).returning(
            *_RETURNED
        )

    created = new(postgresql.insert).cte("created")
    with_log = select(created.c.id, created.c.token).add_cte(
        insert(TransactionLog)
        .from_select(
            ["transaction_id", "when", "log_type", "extra_data"],
            select(created.c.id, created.c.creation_date, literal("created"), literal("")),
        )
        .cte("created_log")
    )
    return new(sqlite.insert), with_log


#: A new transaction, or nothing when (config_id, reference) is taken.
CREATE = _create_statements(None)
#: The same, and nothing either unless the config row still is what a cached entry says: the
#: safeguard of services/payments/config_cache.py.
CREATE_IF_CONFIG_UNCHANGED = _create_statements(
    select(*_NEW_TRANSACTION.values()).where(
        exists().where(
            Config.id == bindparam("new_config_id"),
            Config.key_request == bindparam("cached_key_request"),
            Config.max_amount.is_not_distinct_from(bindparam("cached_max_amount", type_=BigInteger)),
            Config.active.is_(True),
            Config.admin_enable.is_(True),
        )
    )
)


def create(
    connection: Connection, values: dict, statements: tuple[Executable, Executable] = CREATE
) -> Row | None:
    """The transaction and its "created" log; None, and nothing written, if the reference is taken."""
    if connection.dialect.name == "postgresql":
        return connection.execute(statements[1], values).first()
    created = connection.execute(statements[0], values).first()
    if created is not None:
        connection.execute(_LOG_CREATED, {"transaction_id": created.id, "when": created.creation_date})
    return created
