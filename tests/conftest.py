"""Fixtures shared by the suite.

Which one to use:
- ``dbsession``: unit tests of services; one transaction, rolled back at the end.
- ``testapp``: a shopper's browser or a website talking to the app in-process (WebTest); the
  database is really committed and cleaned after the test, so after-commit tasks run for real.
- ``live_server``: the same app over real HTTP on 127.0.0.1, for peers that call it (the sandbox's
  post-sale request, concurrency tests, the worker process).
- ``receiver``: a website's IPN endpoint, a local HTTP server recording what it gets.
- ``make_config``: a website config committed to the database.
- ``queued_settings``: app settings with a real queue (Huey on SQLite, or Redis) for the tests
  that run ``polybanking worker`` as a process.
- ``platform``: each payment platform in turn (e-payment, Checkout), paying through its own
  sandbox (tests/platforms.py), for the tests of what websites and administrators see, which must
  hold whichever platform a config pays through (PROTOCOL §11).
- ``ledger``: a fresh e-payment sandbox ledger (what its back office holds), for this test only.
- ``checkout_store``: a fresh Checkout sandbox store (its transactions), for this test only.

Every answer of the start endpoint and the API, in every test, is checked against
polybanking/openapi.yaml (``_answers_match_openapi``, tests/openapi_check.py).

The database is SQLite in a temporary folder, or ``PB_TEST_DATABASE_URL`` (PostgreSQL in CI); it
is built with the Alembic migrations, so the suite also tests them.
"""

import itertools
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import transaction
import webtest
import webtest.http
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from pyramid.paster import get_appsettings
from sqlalchemy import text
from sqlalchemy.orm import Session

from polybanking import main
from polybanking.models import Base, Config, get_engine, get_tm_session
from polybanking.sandbox.checkout.store import Store
from polybanking.sandbox.epayment.ledger import Ledger

from .openapi_check import CONFORMANCE
from .platforms import PLATFORMS
from .receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent
TESTING_INI = str(ROOT / "testing.ini")


def pytest_report_header(config):
    return [
        f"database: {os.environ.get('PB_TEST_DATABASE_URL') or 'sqlite (temporary file)'}",
        f"redis: {os.environ.get('PB_TEST_REDIS_URL') or 'not used'}",
    ]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("PB_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'polybanking-test.sqlite'}"


@pytest.fixture(scope="session")
def base_settings(database_url) -> dict:
    """testing.ini with the suite's database."""
    settings = dict(get_appsettings(TESTING_INI))
    settings["sqlalchemy.url"] = database_url
    return settings


def run_migrations(engine) -> None:
    alembic_config = AlembicConfig(TESTING_INI)
    with engine.begin() as connection:
        alembic_config.attributes["connection"] = connection
        alembic_command.upgrade(alembic_config, "head")


@pytest.fixture(scope="session")
def engine(base_settings):
    """The schema, rebuilt from the migrations once per run."""
    engine = get_engine(base_settings)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    run_migrations(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(engine):
    """Empties every table after the test (tests that commit leave nothing behind)."""
    yield engine
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def dbsession(engine, clean_db):
    """A session inside one outer transaction that is rolled back; for unit tests of services."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    yield session
    session.close()
    outer.rollback()
    connection.close()


class _Delegate:
    """Lets the HTTP server start (and so know its port) before the app that needs the URL exists."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def live_server():
    delegate = _Delegate()
    server = webtest.http.StopableWSGIServer.create(delegate, threads=8, expose_tracebacks=False)
    server.delegate = delegate
    server.url = server.application_url.rstrip("/")
    yield server
    server.shutdown()


def app_settings_for(base_settings: dict, url: str, **overrides) -> dict:
    settings = dict(base_settings)
    settings.update(
        {
            "polybanking.base_url": url,
            "postfinance.test.url": f"{url}/sandbox/ncol/test/orderstandard_utf8.asp",
            "postfinance.prod.url": f"{url}/sandbox/ncol/prod/orderstandard_utf8.asp",
            "postfinance.test.query_url": f"{url}/sandbox/ncol/test/querydirect.asp",
            "postfinance.prod.query_url": f"{url}/sandbox/ncol/prod/querydirect.asp",
            "checkout.test.api_url": f"{url}/sandbox/checkout/api/v2.0",
            "checkout.live.api_url": f"{url}/sandbox/checkout/api/v2.0",
        }
    )
    settings.update(overrides)
    return settings


@pytest.fixture(scope="session")
def app_settings(base_settings, live_server) -> dict:
    return app_settings_for(base_settings, live_server.url)


@pytest.fixture(scope="session")
def app(app_settings, live_server, engine):
    """The WSGI app, served by ``live_server`` too; Huey runs tasks immediately (testing.ini)."""
    application = main({}, **app_settings)
    CONFORMANCE.install(application.registry)
    live_server.delegate.app = application
    yield application
    application.registry["dbengine"].dispose()


@pytest.fixture(autouse=True)
def _answers_match_openapi():
    """Fails the test if an answer of the start endpoint or the API it caused (in-process or over
    HTTP) does not match polybanking/openapi.yaml (see tests/openapi_check.py)."""
    CONFORMANCE.take_failures()
    yield
    failures = CONFORMANCE.take_failures()
    if failures:
        pytest.fail("answers that do not match openapi.yaml:\n" + "\n".join(failures), pytrace=False)


@pytest.fixture
def testapp(app, clean_db, live_server):
    host = live_server.url.split("://", 1)[1]
    return webtest.TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": host})


@pytest.fixture
def queued_settings(base_settings, live_server, tmp_path):
    """Settings with a real, shared queue instead of immediate execution."""
    redis_url = os.environ.get("PB_TEST_REDIS_URL")
    queue = {"huey.immediate": "false", "huey.name": f"pb-test-{uuid.uuid4().hex[:8]}"}
    if redis_url:
        queue.update({"huey.backend": "redis", "huey.url": redis_url})
    else:
        queue.update({"huey.backend": "sqlite", "huey.filename": str(tmp_path / "queue.sqlite")})
    return app_settings_for(base_settings, live_server.url, **queue)


@pytest.fixture
def settings(app):
    """The checked settings object (polybanking.settings.Settings) of the app."""
    return app.registry.pb_settings


@contextmanager
def committed(session_factory):
    """A session whose work is committed on exit, like a request's or a task's."""
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        yield get_tm_session(session_factory, manager)


@pytest.fixture
def db(app):
    """Run ``db.run(lambda session: ...)`` in a committed transaction and get its result."""
    factory = app.registry["dbsession_factory"]

    def run(function):
        with committed(factory) as session:
            return function(session)

    return SimpleNamespace(run=run, factory=factory)


@pytest.fixture(scope="session")
def _receivers():
    """One listening receiver kept across tests (starting one per test costs more than the test)."""
    current: list[Receiver] = []
    yield current
    for receiver in current:
        receiver.stop()


@pytest.fixture
def receiver(_receivers):
    if not _receivers or not _receivers[-1].running:  # a test may have stopped it on purpose
        _receivers.append(Receiver().start())
    receiver = _receivers[-1]
    receiver.reset()
    return receiver


@pytest.fixture
def make_config(db, receiver, clean_db):
    """Create a committed config; returns a plain copy (id, keys, URLs) safe to use anywhere."""

    def make(**fields):
        values = {
            "name": "Shop",
            "url_ipn": receiver.url,
            "url_back_ok": "http://127.0.0.1:9/shop/ok",
            "url_back_err": "http://127.0.0.1:9/shop/err",
        }
        values.update(fields)

        def create(session):
            config = Config(**values)
            session.add(config)
            session.flush()
            return SimpleNamespace(**{c.key: getattr(config, c.key) for c in Config.__table__.columns})

        return db.run(create)

    return make


@pytest.fixture
def snapshot(db):
    """Every row of every table, to assert that a refused request changed nothing."""

    def take():
        def dump(session):
            return {
                table.name: sorted(tuple(map(str, row)) for row in session.execute(table.select()))
                for table in Base.metadata.sorted_tables
            }

        return db.run(dump)

    return take


@pytest.fixture
def ledger(app):
    """A fresh e-payment sandbox ledger: its back office then holds this test's payments only."""
    app.registry.sandbox_ledger = Ledger()
    return app.registry.sandbox_ledger


_checkout_first_ids = itertools.count(1_000_000, 100_000)


@pytest.fixture
def checkout_store(app):
    """A fresh Checkout sandbox store: its export then holds this test's payments only (its ids
    and event ids follow no earlier test's)."""
    app.registry.checkout_sandbox_store = Store(first_id=next(_checkout_first_ids))
    return app.registry.checkout_sandbox_store


@pytest.fixture(params=list(PLATFORMS))
def platform(request, testapp, app, db, ledger, checkout_store):
    """Each payment platform in turn (tests/platforms.py), its sandbox's back office fresh: how to
    pay on it through its sandbox, what its payment tells the website on the way, its back office
    and what it holds."""
    return PLATFORMS[request.param](testapp, app, db)
