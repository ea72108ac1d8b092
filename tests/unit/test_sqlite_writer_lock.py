"""SQLite: the threads of one process queue on the engine's writer lock, and never leave it held."""

import sqlite3
import threading

import pytest
from sqlalchemy import text

from polybanking.models import get_engine


@pytest.fixture
def engine(tmp_path):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path / 'lock.sqlite'}"})
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))
    yield engine
    engine.dispose()


def writer_lock(connection):
    return connection.connection.dbapi_connection.writer_lock


def test_a_transaction_holds_the_lock_until_commit_or_rollback(engine):
    with engine.connect() as connection:
        lock = writer_lock(connection)
        assert not lock.locked()
        with connection.begin():
            connection.execute(text("UPDATE counter SET n = n + 1"))
            assert lock.locked()
        assert not lock.locked()
        transaction = connection.begin()
        assert lock.locked()
        transaction.rollback()
        assert not lock.locked()
        connection.begin()  # left open: closing the connection rolls it back
    assert not lock.locked()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 1


def test_a_begin_that_sqlite_refuses_gives_the_lock_back(engine, tmp_path):
    """Another process (here: another engine) holds SQLite's own write lock; BEGIN IMMEDIATE fails."""
    other = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path / 'lock.sqlite'}"})
    try:
        with other.connect() as holder, holder.begin(), engine.connect() as connection:
            connection.connection.dbapi_connection.execute("PRAGMA busy_timeout=10")
            with pytest.raises(Exception, match="locked"):
                connection.begin()
            assert not writer_lock(connection).locked()
    finally:
        other.dispose()


def test_threads_of_one_process_all_get_their_turn(engine):
    """Each thread adds one, in parallel: none fails with "database is locked", none is lost."""
    failures: list[BaseException] = []
    barrier = threading.Barrier(16)

    def add_one():
        barrier.wait()
        try:
            for _ in range(10):
                with engine.begin() as connection:
                    n = connection.execute(text("SELECT n FROM counter")).scalar()
                    connection.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
        except BaseException as error:  # noqa: BLE001 (reported below)
            failures.append(error)

    threads = [threading.Thread(target=add_one) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar() == 160


def test_the_lock_is_per_database(engine, tmp_path):
    other = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path / 'other.sqlite'}"})
    try:
        with engine.connect() as a, other.connect() as b:
            assert writer_lock(a) is not writer_lock(b)
            assert isinstance(a.connection.dbapi_connection, sqlite3.Connection)
    finally:
        other.dispose()
