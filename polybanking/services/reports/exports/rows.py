"""Reading an export's rows: keyset batches, each in a short transaction of its own.

One transaction held for a whole download would block SQLite's writers (payments) and PostgreSQL's
vacuum for as long as the slowest client takes; so each batch of ``BATCH`` rows is read in its own,
after the last row of the previous one. For the text formats, dates come as the database stores or
writes them (see ``_Dates``) and rows straight from the driver, as named tuples that
:func:`.transaction_detail` reads like ORM objects.
"""

from collections import namedtuple
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import partial
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.types import NullType

from ....models import Transaction, TransactionLog
from ....models.meta import UTCDateTime
from ....platforms.epayment.statuses import GOOD_STATUSES
from ...payments.fields import LOG_COLUMNS, TRANSACTION_COLUMNS, DateWriter, local_dates, local_text_dates
from .spec import ExportSpec

#: Rows per batch: enough to amortise a round trip, few enough to keep memory flat and each
#: transaction (SQLite's write lock included) short.
BATCH = 5000


def _where(query: Select, spec: "ExportSpec", lower=None) -> Select:
    """The export's filters; ``lower`` replaces the period's start (a batch's keyset is later).
    One lower bound only: SQLite ranges its index over one of two, and the wrong one made each
    batch scan from the period's start (quadratic: minutes on a million rows)."""
    transactions = Transaction.__table__.c
    query = query.where(
        transactions.creation_date >= spec.period.start_utc if lower is None else lower,
        transactions.creation_date < spec.period.end_utc,
    )
    if spec.config_id is not None:
        query = query.where(transactions.config_id == spec.config_id)
    if spec.only_good:
        query = query.where(transactions.postfinance_status.in_(sorted(GOOD_STATUSES)))
    return query


def count(engine: Engine, spec: "ExportSpec") -> int:
    """How many transactions the export holds (for a progress bar)."""
    with engine.begin() as connection:
        query = _where(select(func.count()).select_from(Transaction.__table__), spec)
        return connection.scalar(query) or 0


def _as_stored(expression):
    """The value as the driver returns it, no conversion."""
    return type_coerce(expression, NullType())


def _sqlite_moment(stored: str | None) -> datetime | None:
    """A date as SQLite keeps it (UTC text) as an aware datetime, parsed by the C parser."""
    return datetime.fromisoformat(stored + "+00:00") if stored else None


def _driver_moment(value: datetime | None) -> datetime | None:
    return value  # psycopg returns timestamptz as aware datetimes


def _postgresql_text(column):
    """PostgreSQL writes the UTC text SQLite stores (``YYYY-MM-DD HH:MM:SS``), for the same writer."""
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24:MI:SS")


@dataclass(frozen=True)
class _Dates:
    """How the batch queries select dates, and the writer that turns those into PROTOCOL's text:
    formatting a million rows' dates in Python (parse, attach the zone, format) would take longer
    than the query, so text exports take them as the database stores or writes them."""

    select: Callable
    write: DateWriter
    #: No selected column needs SQLAlchemy's conversion (dates are text or the driver's own, the
    #: flag is only tested for truth), so rows can come straight from the driver: building
    #: SQLAlchemy rows only to turn them into named tuples would cost a tenth of the export.
    driver_rows: bool = False
    #: A selected date as an aware datetime (for the Excel export, which writes dates as dates).
    moment: Callable[[Any], datetime | None] = _driver_moment


def _dates(engine: Engine, as_text: bool, zone: tzinfo) -> _Dates:
    """SQLite keeps the models' dates as UTC text, ``YYYY-MM-DD HH:MM:SS.ffffff``, PostgreSQL is
    asked for the same: :func:`.local_text_dates` turns that into PROTOCOL's local form ten times
    cheaper than parsing each date."""
    dialect = engine.dialect.name
    if as_text and dialect == "sqlite":
        return _Dates(_as_stored, local_text_dates(zone), driver_rows=True)
    if as_text and dialect == "postgresql":
        return _Dates(_postgresql_text, local_text_dates(zone), driver_rows=True)
    # Datetimes (Excel): SQLite's text parsed here, PostgreSQL's from the driver as they come.
    local = local_dates(zone)
    if dialect == "sqlite":
        return _Dates(_as_stored, lambda stored: local(_sqlite_moment(stored)), True, _sqlite_moment)
    if dialect == "postgresql":
        return _Dates(_as_stored, local, driver_rows=True)
    return _Dates(lambda column: column, local)  # other databases: SQLAlchemy's datetimes


def _date_column(table, name: str, dates: _Dates):
    column = table.c[name]
    return dates.select(column).label(name) if isinstance(column.type, UTCDateTime) else column


def transaction_queries(spec: "ExportSpec", dates: _Dates) -> tuple[Select, Select]:
    """The export's rows, oldest first, a batch at a time: the first batch's query, and the next
    ones' (after the row whose ``after_keyset``, ``after_id`` are bound). Rows have ``id``,
    ``config_id``, ``TRANSACTION_COLUMNS`` and ``keyset`` (the creation date as stored). Built once:
    building a statement costs as much as reading a batch with it."""
    table = Transaction.__table__
    stored = _as_stored(table.c.creation_date)
    query = select(
        table.c.id,
        table.c.config_id,
        *(_date_column(table, name, dates) for name in TRANSACTION_COLUMNS),
        stored.label("keyset"),
    )
    created, id_ = bindparam("after_keyset", type_=NullType()), bindparam("after_id")
    following = _where(query, spec, lower=stored >= created).where(or_(stored > created, table.c.id > id_))
    order = (table.c.creation_date, table.c.id)
    return _where(query, spec).order_by(*order).limit(BATCH), following.order_by(*order).limit(BATCH)


def logs_query(dates: _Dates) -> Select:
    """The log lines of the transactions whose ids are bound to ``ids``, oldest first (as the
    original's export ordered them)."""
    table = TransactionLog.__table__
    return (
        select(table.c.transaction_id, *(_date_column(table, name, dates) for name in LOG_COLUMNS))
        .where(table.c.transaction_id.in_(bindparam("ids", expanding=True)))
        .order_by(table.c.transaction_id, table.c.when, table.c.id)
    )


@dataclass(frozen=True)
class Batch:
    """Rows (named tuples: cheaper to read than the database's rows), their log lines when asked
    for, and the ``date`` writer that fits them (for :func:`.transaction_detail`)."""

    rows: list[Any]
    logs: dict[int, list[Any]]
    date: DateWriter
    moment: Callable[[Any], datetime | None]


def batches(
    engine: Engine, spec: "ExportSpec", with_logs: bool = False, dates_as_text: bool = True
) -> Iterator[Batch]:
    """The rows ``BATCH`` at a time (keyset pagination), each batch read in a short transaction of
    its own: one transaction held for a whole download would block SQLite's writers (payments)
    and PostgreSQL's vacuum for as long as the slowest client takes."""
    dates = _dates(engine, dates_as_text, spec.period.tz)
    first, following = transaction_queries(spec, dates)
    logs_of = logs_query(dates)
    make = None
    query, params = first, {}
    while True:
        with engine.begin() as connection:
            result = connection.execute(query, params)
            make = make or partial(tuple.__new__, namedtuple("ExportRow", result.keys()))
            rows = list(map(make, result.cursor.fetchall() if dates.driver_rows else result.all()))
            result.close()
            logs: dict[int, list[Any]] = {}
            if with_logs and rows:
                logs = {row.id: [] for row in rows}
                for log in connection.execute(logs_of, {"ids": list(logs)}):
                    logs[log.transaction_id].append(log)
        if rows:
            yield Batch(rows, logs, dates.write, dates.moment)
        if len(rows) < BATCH:
            return
        query, params = following, {"after_keyset": rows[-1].keyset, "after_id": rows[-1].id}
