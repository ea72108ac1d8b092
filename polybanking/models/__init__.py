"""Engine, session factory and the request-scoped, transaction-managed session."""

import zope.sqlalchemy
from sqlalchemy import engine_from_config, event
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


def _sqlite_serialised_writers(engine: Engine) -> None:
    """SQLite: take the write lock at BEGIN, so concurrent requests queue instead of failing.

    pysqlite's own transaction handling would start deferred transactions whose late upgrade to a
    write lock fails at once under concurrency; this is SQLAlchemy's documented recipe.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Write-ahead log: one fsync per commit instead of the rollback journal's three, and readers
        # never wait for the writer; synchronous stays FULL, so a commit survives a power cut.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine(settings: dict, prefix: str = "sqlalchemy.") -> Engine:
    engine = engine_from_config(settings, prefix)
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
