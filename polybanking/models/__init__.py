"""Engine, session factory and the request-scoped, transaction-managed session."""

import logging
import sqlite3
import threading
from weakref import WeakKeyDictionary

import zope.sqlalchemy
from sqlalchemy import engine_from_config, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from ..outages import Outage
from .admin_session import AdminSession  # noqa: F401
from .config import Config, config_allowed_users, config_operators  # noqa: F401
from .config_log import ConfigLog  # noqa: F401
from .ipn_attempt import IpnAttempt  # noqa: F401
from .meta import Base  # noqa: F401
from .operation import Operation  # noqa: F401
from .reconciliation_item import ReconciliationItem  # noqa: F401
from .reconciliation_run import ReconciliationRun  # noqa: F401
from .sign_in_failure import SignInFailure  # noqa: F401
from .transaction import Transaction  # noqa: F401
from .transaction_log import TransactionLog  # noqa: F401
from .user import User  # noqa: F401

configure_mappers()


#: SQLite's own wait for a lock (``busy_timeout``), and this process's wait for its writer lock.
SQLITE_BUSY_SECONDS = 30


class _SQLiteConnection(sqlite3.Connection):
    """A pysqlite connection that hands the engine's writer lock back once COMMIT or ROLLBACK is done.

    SQLAlchemy's ``commit`` and ``rollback`` events fire before the statement runs; releasing there
    would let the next thread reach SQLite while the commit is still being written.
    """

    writer_lock: "threading.Lock | None" = None
    holds_writer_lock = False

    def _release_writer_lock(self) -> None:
        if self.holds_writer_lock:
            self.holds_writer_lock = False
            assert self.writer_lock is not None
            self.writer_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release_writer_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release_writer_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release_writer_lock()


def _sqlite_serialised_writers(engine: Engine) -> None:
    """SQLite: take the write lock at BEGIN, so concurrent requests queue instead of failing.

    pysqlite's own transaction handling would start deferred transactions whose late upgrade to a
    write lock fails at once under concurrency; this is SQLAlchemy's documented recipe. The threads
    of one process queue on a Python lock first: SQLite's busy handler polls with sleeps of up to
    100 ms, which a rush turns into seconds of tail latency; a lock wakes the next thread at once.
    Other processes (a worker, the CLI) still meet SQLite's own lock and ``busy_timeout``.
    """
    writer_lock = threading.Lock()

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        if isinstance(dbapi_connection, _SQLiteConnection):
            dbapi_connection.writer_lock = writer_lock
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        # Write-ahead log: one fsync per commit instead of the rollback journal's three, and readers
        # never wait for the writer; synchronous stays FULL, so a commit survives a power cut.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        dbapi_connection = conn.connection.dbapi_connection
        if isinstance(dbapi_connection, _SQLiteConnection):
            if not writer_lock.acquire(timeout=SQLITE_BUSY_SECONDS):
                raise sqlite3.OperationalError("database is locked (this process's writer lock)")
            dbapi_connection.holds_writer_lock = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if isinstance(dbapi_connection, _SQLiteConnection):
                dbapi_connection._release_writer_lock()
            raise


_OUTAGES: "WeakKeyDictionary[Engine, Outage]" = WeakKeyDictionary()


def database_outage(engine: Engine) -> Outage:
    """The engine's outage tracker: its "database unreachable" and "database back" log lines."""
    return _OUTAGES[engine]


def _watch_outages(engine: Engine) -> None:
    """A lost or refused connection marks the database down; a statement begun after that and
    answered marks it back. A failed pre-ping is not an outage: the pool replaces that connection.

    Per statement this costs a clock read and an attribute test; nothing is logged or locked
    unless the database was down.
    """
    outage = _OUTAGES[engine] = Outage("database", "requests answered 503", logging.getLogger(__name__))

    @event.listens_for(engine, "handle_error")
    def _failed(context):
        if context.is_pre_ping:
            return
        if context.is_disconnect or context.connection is None:  # lost, or could not connect at all
            outage.failed(context.original_exception)

    @event.listens_for(engine, "before_cursor_execute")
    def _started(conn, _cursor, _statement, _parameters, _context, _executemany):
        conn.info["pb_statement_started"] = outage.clock()

    @event.listens_for(engine, "after_cursor_execute")
    def _answered(conn, _cursor, _statement, _parameters, _context, _executemany):
        if outage.down:
            outage.recovered(conn.info.get("pb_statement_started"))


def get_engine(settings: dict, prefix: str = "sqlalchemy.") -> Engine:
    url = make_url(settings[f"{prefix}url"])
    options = {"connect_args": {"factory": _SQLiteConnection}} if url.get_backend_name() == "sqlite" else {}
    engine = engine_from_config(settings, prefix, **options)
    if engine.dialect.name == "sqlite":
        _sqlite_serialised_writers(engine)
    _watch_outages(engine)
    return engine


#: The events zope.sqlalchemy listens to (``zope.sqlalchemy.register``).
_ZOPE_EVENTS = (
    "after_begin",
    "after_attach",
    "after_flush",
    "after_bulk_update",
    "after_bulk_delete",
    "before_commit",
    "do_orm_execute",
)
#: ``session.info`` key of the zope.sqlalchemy listeners of a session made by ``get_tm_session``.
_TM_EVENTS = "zope_transaction_events"


def _forward_to_session_listeners(name: str):
    def listener(target, *args):
        session = target if isinstance(target, Session) else target.session  # bulk and ORM contexts
        events = session.info.get(_TM_EVENTS)
        if events is not None:
            getattr(events, name)(target, *args)

    return listener


def get_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions of ``engine``; those made by ``get_tm_session`` follow their transaction manager.

    zope.sqlalchemy's listeners are registered here, once, and handed each event of a session
    that has its own (``get_tm_session``): registering seven listeners on every request's session
    was 8% of a payment start's time under load. Other sessions are left alone, as before.
    """
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    for name in _ZOPE_EVENTS:
        event.listen(factory, name, _forward_to_session_listeners(name))
    return factory


def get_tm_session(session_factory: sessionmaker[Session], transaction_manager, request=None) -> Session:
    """A session joined to ``transaction_manager``: committed or aborted with it, never by hand."""
    events = zope.sqlalchemy.ZopeTransactionEvents(transaction_manager=transaction_manager)
    return session_factory(info={"request": request, _TM_EVENTS: events})


def mark_changed(dbsession: Session) -> None:
    """Tell the session's transaction manager that Core statements wrote: commit, do not roll back."""
    dbsession.info[_TM_EVENTS].mark_changed(dbsession)


def includeme(config) -> None:
    """request.dbsession, bound to pyramid_tm's per-request transaction."""
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
    # pyramid_tm would read the signed-in user for every request, a payment start included, only
    # to label a transaction object that nothing stores (it is ZODB's); the admin views ask for it.
    settings["tm.annotate_user"] = "false"
    config.include("pyramid_tm")

    engine = get_engine(settings)
    session_factory = get_session_factory(engine)
    config.registry["dbsession_factory"] = session_factory
    config.registry["dbengine"] = engine

    def dbsession(request):
        session = request.environ.get("app.dbsession")
        if session is None:
            session = get_tm_session(session_factory, request.tm, request=request)
        return session

    config.add_request_method(dbsession, reify=True)
