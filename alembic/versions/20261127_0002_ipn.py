"""IPN outbox: attempts table and the delivery claim

Revision ID: 0002_ipn
Revises: 0001
Create Date: 2026-11-28

Each delivery attempt gets a row (time, HTTP status or error, duration, the answer's first 1 000
characters); a transaction gets a claim (token and expiry) so that two workers never send its IPN
at once and a crashed worker's claim expires by itself. Written by hand; batch mode for SQLite.
"""
from alembic import op
import sqlalchemy as sa
import polybanking.models.meta


revision = '0002_ipn'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ipn_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('attempted_at', polybanking.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('postfinance_status', sa.String(length=2), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('webhook_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_ipn_attempts_transaction_id_transactions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ipn_attempts'))
    )
    with op.batch_alter_table('ipn_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ipn_attempts_transaction_id'), ['transaction_id'], unique=False)

    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ipn_claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('ipn_claimed_until', polybanking.models.meta.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_column('ipn_claimed_until')
        batch_op.drop_column('ipn_claim_token')

    with op.batch_alter_table('ipn_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ipn_attempts_transaction_id'))

    op.drop_table('ipn_attempts')
