"""admin web interface: failed sign-ins, and the index the transaction list filters on

Revision ID: 0004_admin
Revises: 0002_ipn
Create Date: 2026-11-27

Read by hand. ``sign_in_failures`` slows down password guessing (per username and per address).
The admin list sorts transactions newest first (creation_date, then id) and filters them by config:
(creation_date, id) and (config_id, creation_date, id) give that order straight from an index, so
no page sorts the whole history, and a deep page's OFFSET walks index entries only.
"""
from alembic import op
import sqlalchemy as sa
import polybanking.models.meta


revision = '0004_admin'
down_revision = '0002_ipn'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_in_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=150), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('when', polybanking.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures'))
    )
    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_failures_ip_when', ['ip', 'when'], unique=False)
        batch_op.create_index('ix_sign_in_failures_username_when', ['username', 'when'], unique=False)

    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index('ix_transactions_created_id', ['creation_date', 'id'], unique=False)
        batch_op.create_index('ix_transactions_config_created', ['config_id', 'creation_date', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index('ix_transactions_config_created')
        batch_op.drop_index('ix_transactions_created_id')

    with op.batch_alter_table('sign_in_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_failures_username_when')
        batch_op.drop_index('ix_sign_in_failures_ip_when')

    op.drop_table('sign_in_failures')
