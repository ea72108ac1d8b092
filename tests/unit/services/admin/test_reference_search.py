"""The admin list's reference search (issue 18): on SQLite a term of three characters or more is
looked up in the FTS5 trigram index of migration 0012_reference_search; whatever the engine and
the path, the matches are exactly those of the plain LIKE (ILIKE on PostgreSQL): ASCII case
ignored, other letters' case kept, ``%`` and ``_`` literal, short terms included."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, text

from polybanking.models import Config, Transaction, User
from polybanking.models.meta import REFERENCE_SEARCH_TABLE
from polybanking.services.admin.queries import TransactionFilter, search_transactions

ROOT = User(username="root", is_superuser=True)
ZONE = ZoneInfo("Europe/Zurich")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

REFERENCES = [
    "Order-ABC-001",
    "order-abc-002",
    "ORDER-xyz-003",
    "pay_100%",
    "pay-100x",
    "pay_1000",
    "100%-off",
    "Café-É1",
    "café-é2",
    "CAFÉ-3",
    'quote"d-1',
    "a b c",
    "ab",
    "Kelvin-\u212a",
    "straße-9",
]
TERMS = [
    "abc", "ABC", "Order", "order-", "-00", "xyz-003", "_100%", "pay_", "_10", "100%", "%", "_",
    "a_", "%-o", "É1", "é", "É", "café", "CAFÉ", "afé", "AFÉ", 'e"d', 'quote"', '"', "x", "ab", "b c",
    "a b", "no-such-order", "kelvin-k", "kelvin-\u212a", "STRASSE", "straße", "Straße-9", "e-", "-",
]  # fmt: skip


@pytest.fixture
def transactions(dbsession):
    config = Config(name="Shop")
    dbsession.add_all(
        Transaction(config=config, reference=reference, amount=100, creation_date=T0 + timedelta(minutes=n))
        for n, reference in enumerate(REFERENCES)
    )
    dbsession.flush()
    return config


def plain_like(dbsession, term: str) -> list[str]:
    """What the LIKE alone finds (ILIKE on PostgreSQL), newest first, reading every reference."""
    column = Transaction.reference
    dialect = dbsession.get_bind().dialect.name
    condition = (
        column.contains(term, autoescape=True)
        if dialect == "sqlite"
        else column.icontains(term, autoescape=True)
    )
    query = select(column).where(condition).order_by(Transaction.creation_date.desc(), Transaction.id.desc())
    return list(dbsession.scalars(query))


def searched(dbsession, term: str) -> list[str]:
    page = search_transactions(dbsession, ROOT, TransactionFilter(search=term), ZONE)
    return [transaction.reference for transaction in page.items]


@pytest.fixture
def statements(dbsession):
    """The SQL the session's connection runs, to see which path a search took."""
    seen: list[str] = []
    connection = dbsession.connection()

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    yield seen
    event.remove(connection, "before_cursor_execute", record)


@pytest.mark.parametrize("term", TERMS)
def test_the_same_matches_as_the_plain_like(dbsession, transactions, statements, term):
    expected = plain_like(dbsession, term)
    statements.clear()
    assert searched(dbsession, term) == expected
    used_index = any(REFERENCE_SEARCH_TABLE in statement for statement in statements)
    assert used_index == (dbsession.get_bind().dialect.name == "sqlite" and len(term) >= 3)


def test_the_cases_the_like_tells_apart(dbsession, transactions):
    """What the comparison above relies on: the index may find more (FTS5 folds every letter's
    case), never fewer, and the LIKE then keeps SQLite's own answer."""
    assert searched(dbsession, "abc") == ["order-abc-002", "Order-ABC-001"]
    assert searched(dbsession, "_100%") == ["pay_100%"]
    if dbsession.get_bind().dialect.name == "sqlite":
        assert searched(dbsession, "café") == ["café-é2", "Café-É1"]  # LIKE folds ASCII only
        assert searched(dbsession, "CAFÉ") == ["CAFÉ-3"]


def test_the_index_follows_inserts_changes_and_deletions(dbsession, transactions):
    (first,) = dbsession.scalars(select(Transaction).where(Transaction.reference == "Order-ABC-001"))
    first.reference = "renamed-777"
    added = Transaction(config=transactions, reference="fresh-888", amount=100, creation_date=T0)
    dbsession.add(added)
    (gone,) = dbsession.scalars(select(Transaction).where(Transaction.reference == "ORDER-xyz-003"))
    dbsession.delete(gone)
    dbsession.flush()
    assert searched(dbsession, "777") == ["renamed-777"]
    assert searched(dbsession, "888") == ["fresh-888"]
    assert searched(dbsession, "ABC-001") == []
    assert searched(dbsession, "xyz") == []
    if dbsession.get_bind().dialect.name == "sqlite":  # the index agrees with the table, row for row
        fts = REFERENCE_SEARCH_TABLE
        dbsession.execute(text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"))


def test_a_database_without_the_index_still_searches(dbsession, transactions, statements):
    """A SQLite database made without the migrations (a benchmark's create_all) has no index."""
    if dbsession.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's index")
    dbsession.execute(text(f"ALTER TABLE {REFERENCE_SEARCH_TABLE} RENAME TO hidden_search"))
    statements.clear()
    assert searched(dbsession, "abc") == ["order-abc-002", "Order-ABC-001"]
    assert not any("MATCH" in statement or "hidden_search" in statement for statement in statements)
