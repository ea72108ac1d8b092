"""refunds, captures and cancellations

Revision ID: 0007_operations
Revises: 0006_checkout
Create Date: 2026-12-01

Written by hand (issue 15): one row per operation asked of a platform, unique per transaction and
idempotency key; on transactions, what was refunded and what is reserved by pending refunds, both
bounded by the amount in the database; on configs, whether the website may refund through the API;
and who may operate on a config's payments. New NOT NULL columns have server defaults so existing
rows get 0 / false.
"""
from alembic import op
import sqlalchemy as sa
import polybanking.models.meta


revision = '0007_operations'
down_revision = '0006_checkout'
branch_labels = None
depends_on = None

ONE_CAPTURE_OR_CANCEL = "kind != 'refund' AND state != 'refused'"


def upgrade() -> None:
    op.create_table('operations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('requested_by', sa.String(length=255), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', polybanking.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', polybanking.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('sent', sa.Boolean(), nullable=False),
    sa.Column('platform_status', sa.String(length=4), nullable=False),
    sa.Column('platform_message', sa.String(length=255), nullable=False),
    sa.Column('platform_id', sa.String(length=64), nullable=False),
    sa.Column('platform_sequence', sa.Integer(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_operations_amount_positive')),
    sa.CheckConstraint("kind IN ('refund', 'capture', 'cancel')", name=op.f('ck_operations_kind_known')),
    sa.CheckConstraint("state IN ('pending', 'done', 'refused')", name=op.f('ck_operations_state_known')),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_operations_transaction_id_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operations')),
    sa.UniqueConstraint('transaction_id', 'idempotency_key', name='uq_operations_idempotency')
    )
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operations_transaction_id'), ['transaction_id'], unique=False)
        batch_op.create_index(
            'uq_operations_one_capture_or_cancel', ['transaction_id'], unique=True,
            sqlite_where=sa.text(ONE_CAPTURE_OR_CANCEL), postgresql_where=sa.text(ONE_CAPTURE_OR_CANCEL),
        )

    op.create_table('config_operators',
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['config_id'], ['configs.id'], name=op.f('fk_config_operators_config_id_configs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_config_operators_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('config_id', 'user_id', name=op.f('pk_config_operators'))
    )

    with op.batch_alter_table('configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_refunds', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refunded_amount', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('refund_reserved', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.create_check_constraint('refund_within_amount', 'refund_reserved <= amount')
        batch_op.create_check_constraint(
            'refunded_reserved', 'refunded_amount >= 0 AND refunded_amount <= refund_reserved'
        )


def downgrade() -> None:
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_constraint('refunded_reserved', type_='check')
        batch_op.drop_constraint('refund_within_amount', type_='check')
        batch_op.drop_column('refund_reserved')
        batch_op.drop_column('refunded_amount')

    with op.batch_alter_table('configs', schema=None) as batch_op:
        batch_op.drop_column('api_refunds')

    op.drop_table('config_operators')
    with op.batch_alter_table('operations', schema=None) as batch_op:
        batch_op.drop_index('uq_operations_one_capture_or_cancel')
        batch_op.drop_index(batch_op.f('ix_operations_transaction_id'))

    op.drop_table('operations')
