"""Engine, session factory and the request-scoped, transaction-managed session."""

import sqlite3
import threading

import zope.sqlalchemy
from sqlalchemy import engine_from_config, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from .config import Config, config_allowed_users  # noqa: F401
from .config_log import ConfigLog  # noqa: F401
from .ipn_attempt import IpnAttempt  # noqa: F401
from .meta import Base  # noqa: F401
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


def get_engine(settings: dict, prefix: str = "sqlalchemy.") -> Engine:
    url = make_url(settings[f"{prefix}url"])
    options = {"connect_args": {"factory": _SQLiteConnection}} if url.get_backend_name() == "sqlite" else {}
    engine = engine_from_config(settings, prefix, **options)
    if engine.dialect.name == "sqlite":
        _sqlite_serialised_writers(engine)
    return engine


def get_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def get_tm_session(session_factory: sessionmaker[Session], transaction_manager, request=None) -> Session:
    """A session joined to ``transaction_manager``: committed or aborted with it, never by hand."""
    dbsession = session_factory(info={"request": request})
    zope.sqlalchemy.register(dbsession, transaction_manager=transaction_manager)
    return dbsession


def includeme(config) -> None:
    """request.dbsession, bound to pyramid_tm's per-request transaction."""
    settings = config.get_settings()
    settings["tm.manager_hook"] = "pyramid_tm.explicit_manager"
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
