"""reconciliation runs and DirectLink status checks

Revision ID: 0005_reconcile
Revises: 0004_admin
Create Date: 2026-11-27

Written by hand (issue 6): the runs of the comparison with PostFinance's reports and the orders each
found not the same; on transactions, the DirectLink check counters and an index on the forwarding
date (the comparison selects a report's days by it). The new NOT NULL column has a server default
so existing rows get 0.
"""
from alembic import op
import sqlalchemy as sa
import polybanking.models.meta


revision = '0005_reconcile'
down_revision = '0004_admin'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reconciliation_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', polybanking.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('encoding', sa.String(length=16), nullable=False),
    sa.Column('report_lines', sa.Integer(), nullable=False),
    sa.Column('first_date', sa.Date(), nullable=True),
    sa.Column('last_date', sa.Date(), nullable=True),
    sa.Column('same_count', sa.Integer(), nullable=False),
    sa.Column('same_cents', sa.BigInteger(), nullable=False),
    sa.Column('different_count', sa.Integer(), nullable=False),
    sa.Column('different_report_cents', sa.BigInteger(), nullable=False),
    sa.Column('different_polybanking_cents', sa.BigInteger(), nullable=False),
    sa.Column('only_report_count', sa.Integer(), nullable=False),
    sa.Column('only_report_cents', sa.BigInteger(), nullable=False),
    sa.Column('only_polybanking_count', sa.Integer(), nullable=False),
    sa.Column('only_polybanking_cents', sa.BigInteger(), nullable=False),
    sa.Column('foreign_count', sa.Integer(), nullable=False),
    sa.Column('foreign_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reconciliation_runs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_runs'))
    )
    with op.batch_alter_table('reconciliation_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_runs_created_at'), ['created_at'], unique=False)

    op.create_table('reconciliation_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('order_id', sa.String(length=255), nullable=False),
    sa.Column('fields', sa.String(length=64), nullable=False),
    sa.Column('report_line', sa.Integer(), nullable=True),
    sa.Column('report_pay_id', sa.String(length=32), nullable=True),
    sa.Column('report_amount', sa.BigInteger(), nullable=True),
    sa.Column('report_currency', sa.String(length=3), nullable=True),
    sa.Column('report_status', sa.String(length=2), nullable=True),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('config_id', sa.Integer(), nullable=True),
    sa.Column('reference', sa.String(length=255), nullable=True),
    sa.Column('polybanking_pay_id', sa.String(length=32), nullable=True),
    sa.Column('polybanking_amount', sa.BigInteger(), nullable=True),
    sa.Column('polybanking_currency', sa.String(length=3), nullable=True),
    sa.Column('polybanking_status', sa.String(length=2), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['reconciliation_runs.id'], name=op.f('fk_reconciliation_items_run_id_reconciliation_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_items'))
    )
    with op.batch_alter_table('reconciliation_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_items_run_id'), ['run_id'], unique=False)

    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('directlink_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('directlink_next_at', polybanking.models.meta.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_transactions_last_userforwarded_date'), ['last_userforwarded_date'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transactions_last_userforwarded_date'))
        batch_op.drop_column('directlink_next_at')
        batch_op.drop_column('directlink_attempts')

    with op.batch_alter_table('reconciliation_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_items_run_id'))

    op.drop_table('reconciliation_items')
    with op.batch_alter_table('reconciliation_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reconciliation_runs_created_at'))

    op.drop_table('reconciliation_runs')
