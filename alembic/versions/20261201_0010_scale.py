"""indexes for the admin pages over a million transactions

Revision ID: 0010_scale
Revises: 0009_first_hour
Create Date: 2026-12-01

Written by hand (issue 18). The admin list's rare filters (IPN failing, waiting at PostFinance,
flagged, refunded) and the home page's "needs attention" read partial indexes on (creation_date, id)
holding only the rows that match, so a new payment is in none of them; the status filters read
(postfinance_status, creation_date, id) over the rows that have a status. The WHERE clauses are the
models' (models/transaction.py), compiled here, so the queries' conditions match them exactly.

PostgreSQL only: pg_trgm (a trusted extension: the database owner may create it) and a trigram GIN
index on reference, for "reference contains" (ILIKE). SQLite has no equivalent: the search reads
every reference there (bench/admin_transactions.py prints how long that takes).
"""
from alembic import op

from polybanking.models.transaction import AT_POSTFINANCE, FLAGGED, HAS_STATUS, IPN_FAILING, REFUNDED

revision = '0010_scale'
down_revision = '0009_first_hour'
branch_labels = None
depends_on = None

PARTIAL = (
    ('ix_transactions_ipn_failing', ['creation_date', 'id'], IPN_FAILING),
    ('ix_transactions_at_postfinance', ['creation_date', 'id'], AT_POSTFINANCE),
    ('ix_transactions_flagged', ['creation_date', 'id'], FLAGGED),
    ('ix_transactions_refunded', ['creation_date', 'id'], REFUNDED),
    ('ix_transactions_status_created', ['postfinance_status', 'creation_date', 'id'], HAS_STATUS),
)


def upgrade() -> None:
    for name, columns, where in PARTIAL:
        op.create_index(name, 'transactions', columns, sqlite_where=where, postgresql_where=where)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.create_index(
            'ix_transactions_reference_trgm', 'transactions', ['reference'],
            postgresql_using='gin', postgresql_ops={'reference': 'gin_trgm_ops'},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_transactions_reference_trgm', table_name='transactions')
    for name, _columns, _where in reversed(PARTIAL):
        op.drop_index(name, table_name='transactions')
