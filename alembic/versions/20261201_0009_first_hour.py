"""reconciliation: orders forwarded to PostFinance and never answered, counted apart

Revision ID: 0009_first_hour
Revises: 0008_sessions
Create Date: 2026-12-01

Written by hand (issue 17): a shopper who closes PostFinance's page leaves an order PostFinance never
answers; a run counts these apart from the orders "only in PolyBanking". Server defaults give
existing runs 0.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_first_hour'
down_revision = '0008_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reconciliation_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unanswered_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('unanswered_cents', sa.BigInteger(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('reconciliation_runs', schema=None) as batch_op:
        batch_op.drop_column('unanswered_cents')
        batch_op.drop_column('unanswered_count')
