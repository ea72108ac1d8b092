"""config platform: PostFinance e-payment or Checkout

Revision ID: 0006_checkout
Revises: 0005_reconcile
Create Date: 2026-12-01

Written by hand (issue 14): each config names the platform that takes its payments. Existing
configs are e-payment ones (the server default), and a check constraint keeps the names known.
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_checkout'
down_revision = '0005_reconcile'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('platform', sa.String(length=16), server_default='epayment', nullable=False))
        batch_op.create_check_constraint(
            batch_op.f('ck_configs_platform_known'), "platform IN ('epayment', 'checkout')"
        )


def downgrade() -> None:
    with op.batch_alter_table('configs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_configs_platform_known'), type_='check')
        batch_op.drop_column('platform')
