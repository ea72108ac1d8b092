"""Sessions made by get_tm_session follow their own transaction manager; the factory's others do not."""

import pytest
import transaction
from sqlalchemy import insert, select, text

from polybanking.models import Config, get_engine, get_session_factory, get_tm_session, mark_changed


@pytest.fixture
def factory(tmp_path):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path / 'tm.sqlite'}"})
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT)"))
    Config.__table__.create(engine)
    yield get_session_factory(engine)
    engine.dispose()


def notes(factory) -> list[str]:
    with factory() as session:
        return list(session.scalars(text("SELECT body FROM notes ORDER BY body")))


def test_core_writes_are_committed_when_marked_and_rolled_back_when_not(factory):
    for body, marked in (("marked", True), ("unmarked", False)):
        manager = transaction.TransactionManager(explicit=True)
        with manager:
            session = get_tm_session(factory, manager)
            session.connection().execute(text("INSERT INTO notes VALUES (:body)"), {"body": body})
            if marked:
                mark_changed(session)
    assert notes(factory) == ["marked"]


def test_a_session_joins_its_own_manager_not_another_one(factory):
    mine, other = (transaction.TransactionManager(explicit=True) for _ in range(2))
    mine.begin()
    other.begin()
    session = get_tm_session(factory, mine)
    session.add(Config(name="mine"))
    session.flush()  # the ORM write marks the session changed, in its manager
    other.commit()  # has nothing of it: commits nothing
    mine.abort()
    with factory() as check:
        assert check.scalars(select(Config.name)).all() == []
    manager = transaction.TransactionManager(explicit=True)
    with manager:
        session = get_tm_session(factory, manager)
        session.connection().execute(insert(Config.__table__).values(name="kept", key_request="x"))
        mark_changed(session)
    with factory() as check:
        assert check.scalars(select(Config.name)).all() == ["kept"]


def test_a_session_made_by_the_factory_alone_is_committed_by_hand(factory):
    with factory() as session, session.begin():  # zope.sqlalchemy would refuse a commit by hand
        session.execute(text("INSERT INTO notes VALUES ('by hand')"))
    assert notes(factory) == ["by hand"]
