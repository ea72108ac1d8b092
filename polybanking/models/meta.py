"""Declarative base with the documented naming convention, and the UTC-aware datetime type."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Always timezone-aware UTC in Python, whatever the engine stores (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: Primary keys are INTEGER columns: PostgreSQL fails (rather than finds nothing) when a query
#: compares one with a larger number, so ids from requests are checked against this first.
MAX_ROW_ID = 2**31 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime}


#: SQLite only, outside the models: the FTS5 trigram index of the references (migration
#: 0012_reference_search) and its shadow tables (``…_data``, ``…_idx``, ``…_docsize``, ``…_config``).
REFERENCE_SEARCH_TABLE = "transactions_reference_fts"


def is_reference_search_table(name: str) -> bool:
    return name == REFERENCE_SEARCH_TABLE or name.startswith(REFERENCE_SEARCH_TABLE + "_")


def alembic_include_object(dialect_name: str):
    """Alembic's ``include_object`` for ``dialect_name``: an index the models create on other
    engines only (``Index(...).ddl_if(dialect=...)``, e.g. the PostgreSQL trigram index) is not
    reported missing from a database of that dialect, nor SQLite's reference search tables extra."""

    def include(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table" and reflected and is_reference_search_table(name or ""):
            return False
        ddl_if = getattr(obj, "_ddl_if", None) if type_ == "index" else None
        return ddl_if is None or ddl_if.dialect is None or ddl_if.dialect == dialect_name

    return include
