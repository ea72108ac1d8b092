"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27

Configs, users, transactions and their logs (DESIGN.md, Data). Read by hand: the constraints that
must never break (one reference per config, amount > 0) live here, not only in code.
"""
from alembic import op
import sqlalchemy as sa
import polybanking.models.meta


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('configs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('admin_enable', sa.Boolean(), nullable=False),
    sa.Column('test_mode', sa.Boolean(), nullable=False),
    sa.Column('url_ipn', sa.String(length=2048), nullable=False),
    sa.Column('url_back_ok', sa.String(length=2048), nullable=False),
    sa.Column('url_back_err', sa.String(length=2048), nullable=False),
    sa.Column('key_request', sa.String(length=255), nullable=False),
    sa.Column('key_ipn', sa.String(length=255), nullable=False),
    sa.Column('key_api', sa.String(length=255), nullable=False),
    sa.Column('group', sa.String(length=255), nullable=False),
    sa.Column('max_amount', sa.BigInteger(), nullable=True),
    sa.Column('created_at', polybanking.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('max_amount IS NULL OR max_amount > 0', name=op.f('ck_configs_max_amount_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_configs'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=150), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('is_superuser', sa.Boolean(), nullable=False),
    sa.Column('is_staff', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', polybanking.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('external_id', name=op.f('uq_users_external_id')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('config_allowed_users',
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['config_id'], ['configs.id'], name=op.f('fk_config_allowed_users_config_id_configs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_config_allowed_users_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('config_id', 'user_id', name=op.f('pk_config_allowed_users'))
    )
    op.create_table('config_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('when', polybanking.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['config_id'], ['configs.id'], name=op.f('fk_config_logs_config_id_configs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_config_logs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_config_logs'))
    )
    with op.batch_alter_table('config_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_config_logs_config_id'), ['config_id'], unique=False)

    op.create_table('transactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('config_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=255), nullable=False),
    sa.Column('extra_data', sa.Text(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('postfinance_id', sa.String(length=32), nullable=True),
    sa.Column('postfinance_id_sub', sa.Integer(), nullable=True),
    sa.Column('postfinance_status', sa.String(length=2), nullable=True),
    sa.Column('internal_status', sa.String(length=2), nullable=False),
    sa.Column('brand', sa.String(length=64), nullable=False),
    sa.Column('card', sa.String(length=64), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('creation_date', polybanking.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_userforwarded_date', polybanking.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_user_back_from_postfinance_date', polybanking.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_postfinance_ipn_date', polybanking.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_ipn_date', polybanking.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ipn_needed', sa.Boolean(), nullable=False),
    sa.Column('ipn_attempts', sa.Integer(), nullable=False),
    sa.Column('ipn_next_attempt_at', polybanking.models.meta.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ipn_failed', sa.Boolean(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_transactions_amount_positive')),
    sa.ForeignKeyConstraint(['config_id'], ['configs.id'], name=op.f('fk_transactions_config_id_configs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transactions')),
    sa.UniqueConstraint('config_id', 'reference', name='uq_transactions_config_reference'),
    sa.UniqueConstraint('token', name=op.f('uq_transactions_token'))
    )
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transactions_config_id'), ['config_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transactions_creation_date'), ['creation_date'], unique=False)
        batch_op.create_index('ix_transactions_ipn_due', ['ipn_needed', 'ipn_next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_transactions_postfinance_id'), ['postfinance_id'], unique=False)

    op.create_table('transaction_logs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('when', polybanking.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.Column('log_type', sa.String(length=64), nullable=False),
    sa.Column('extra_data', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['transaction_id'], ['transactions.id'], name=op.f('fk_transaction_logs_transaction_id_transactions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transaction_logs'))
    )
    with op.batch_alter_table('transaction_logs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transaction_logs_transaction_id'), ['transaction_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('transaction_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transaction_logs_transaction_id'))

    op.drop_table('transaction_logs')
    with op.batch_alter_table('transactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transactions_postfinance_id'))
        batch_op.drop_index('ix_transactions_ipn_due')
        batch_op.drop_index(batch_op.f('ix_transactions_creation_date'))
        batch_op.drop_index(batch_op.f('ix_transactions_config_id'))

    op.drop_table('transactions')
    with op.batch_alter_table('config_logs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_config_logs_config_id'))

    op.drop_table('config_logs')
    op.drop_table('config_allowed_users')
    op.drop_table('users')
    op.drop_table('configs')
