"""The Alembic migrations build exactly the models' schema, and go down and up again cleanly."""

import pytest
from alembic import command as alembic_command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, String, inspect

from polybanking.models import Base, get_engine
from polybanking.models.meta import REFERENCE_SEARCH_TABLE, alembic_include_object, is_reference_search_table

from ..conftest import TESTING_INI

TABLES = {
    "configs",
    "users",
    "config_allowed_users",
    "config_logs",
    "transactions",
    "transaction_logs",
    "reconciliation_runs",
    "reconciliation_items",
    "sign_in_failures",
    "ipn_attempts",
    "admin_sessions",
    "operations",
    "config_operators",
}


def _differences(connection, metadata: MetaData = Base.metadata) -> list:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "render_as_batch": connection.dialect.name == "sqlite",
            "include_object": alembic_include_object(connection.dialect.name),  # as alembic/env.py
        },
    )
    return compare_metadata(context, metadata)


def test_models_match_migrations(engine):
    """The suite's database (SQLite or PB_TEST_DATABASE_URL) was built by the migrations."""
    with engine.connect() as connection:
        assert _differences(connection) == []


def test_comparison_sees_a_model_change(engine):
    """Guards the test above against comparing nothing."""
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["transactions"].append_column(Column("new_column", Integer, nullable=True))
    changed.tables["configs"].c.name.type = String(100)
    with engine.connect() as connection:
        found = {
            (diff[0] if isinstance(diff, tuple) else diff[0][0]) for diff in _differences(connection, changed)
        }
    assert "add_column" in found and "modify_type" in found


def test_models_cover_every_table_of_the_migrations(engine):
    assert set(Base.metadata.tables) == TABLES
    with engine.connect() as connection:
        names = set(inspect(connection).get_table_names())
    search = {name for name in names if is_reference_search_table(name)}
    assert names - search == TABLES | {"alembic_version"}
    # SQLite only: the reference search's FTS5 table and its shadow tables (0012_reference_search).
    assert (REFERENCE_SEARCH_TABLE in search) == (engine.dialect.name == "sqlite")


def test_single_head():
    script = ScriptDirectory.from_config(AlembicConfig(TESTING_INI))
    assert len(script.get_heads()) == 1


@pytest.fixture
def fresh_engine(tmp_path):
    engine = get_engine({"sqlalchemy.url": f"sqlite:///{tmp_path / 'migrations.sqlite'}"})
    yield engine
    engine.dispose()


def _migrate(engine, direction: str, revision: str) -> None:
    alembic_config = AlembicConfig(TESTING_INI)
    with engine.begin() as connection:
        alembic_config.attributes["connection"] = connection
        getattr(alembic_command, direction)(alembic_config, revision)


def _state(engine) -> tuple[set[str], str | None]:
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        return tables, MigrationContext.configure(connection).get_current_revision()


#: A SQLite database's tables: the models' and the reference search's FTS5 table with its shadows.
SQLITE_TABLES = TABLES | {
    REFERENCE_SEARCH_TABLE + suffix for suffix in ("", "_data", "_idx", "_docsize", "_config")
}


def test_downgrade_to_base_and_upgrade_again(fresh_engine):
    head = ScriptDirectory.from_config(AlembicConfig(TESTING_INI)).get_current_head()

    _migrate(fresh_engine, "upgrade", "head")
    assert _state(fresh_engine) == (SQLITE_TABLES, head)

    _migrate(fresh_engine, "downgrade", "base")
    assert _state(fresh_engine) == (set(), None)

    _migrate(fresh_engine, "upgrade", "head")
    assert _state(fresh_engine) == (SQLITE_TABLES, head)
    with fresh_engine.connect() as connection:
        assert _differences(connection) == []


def test_upgrade_twice_is_harmless(fresh_engine):
    _migrate(fresh_engine, "upgrade", "head")
    _migrate(fresh_engine, "upgrade", "head")
    with fresh_engine.connect() as connection:
        assert _differences(connection) == []
