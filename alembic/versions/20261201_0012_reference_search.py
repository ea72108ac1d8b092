"""SQLite: a trigram full-text index of the references, for the admin list's reference search

Revision ID: 0012_reference_search
Revises: 0011_ipn_format
Create Date: 2026-12-01

Written by hand (issue 18). PostgreSQL searches references with the pg_trgm index of 0010_scale;
SQLite had only one pass over every reference (about 50 ms at a million). FTS5's ``trigram``
tokenizer (SQLite 3.34 and later) indexes every three characters of a reference, so a search of
three characters or more reads the index (services/admin/queries.py; the plain LIKE still checks
each row found, so the results are the same).

An external-content FTS5 table: it stores the index only, the references stay in
``transactions``; triggers keep it in step (insert, delete, a reference changed). Filling it reads
every reference once (about 2 s a million rows here). Without FTS5's trigram tokenizer (an old
SQLite), nothing is created and the search reads every reference, as before.

A later migration that rebuilds ``transactions`` on SQLite (Alembic's batch mode copies the table
and drops the old one) drops these triggers with it: it must create them again (``TRIGGERS``) and
``rebuild`` the index, as this one does.
"""
from alembic import op
from sqlalchemy.exc import OperationalError

revision = '0012_reference_search'
down_revision = '0011_ipn_format'
branch_labels = None
depends_on = None

TRIGGERS = {
    'transactions_reference_fts_insert': """
        CREATE TRIGGER transactions_reference_fts_insert AFTER INSERT ON transactions BEGIN
            INSERT INTO transactions_reference_fts(rowid, reference) VALUES (new.id, new.reference);
        END""",
    'transactions_reference_fts_delete': """
        CREATE TRIGGER transactions_reference_fts_delete AFTER DELETE ON transactions BEGIN
            INSERT INTO transactions_reference_fts(transactions_reference_fts, rowid, reference)
                VALUES ('delete', old.id, old.reference);
        END""",
    'transactions_reference_fts_update': """
        CREATE TRIGGER transactions_reference_fts_update AFTER UPDATE OF id, reference ON transactions
        BEGIN
            INSERT INTO transactions_reference_fts(transactions_reference_fts, rowid, reference)
                VALUES ('delete', old.id, old.reference);
            INSERT INTO transactions_reference_fts(rowid, reference) VALUES (new.id, new.reference);
        END""",
}


def _trigram_available(bind) -> bool:
    """FTS5 with its trigram tokenizer (SQLite 3.34 and later, FTS5 compiled in, as Python's is)."""
    try:
        bind.exec_driver_sql("CREATE VIRTUAL TABLE temp.pb_trigram_probe USING fts5(x, tokenize='trigram')")
    except OperationalError:
        return False  # the search reads every reference, as before
    bind.exec_driver_sql('DROP TABLE temp.pb_trigram_probe')
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite' or not _trigram_available(bind):
        return
    op.execute(
        "CREATE VIRTUAL TABLE transactions_reference_fts USING fts5(reference,"
        " content='transactions', content_rowid='id', tokenize='trigram case_sensitive 0')"
    )
    for statement in TRIGGERS.values():
        op.execute(statement)
    op.execute("INSERT INTO transactions_reference_fts(transactions_reference_fts) VALUES ('rebuild')")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        return
    for name in TRIGGERS:
        op.execute('DROP TRIGGER IF EXISTS ' + name)
    op.execute('DROP TABLE IF EXISTS transactions_reference_fts')
