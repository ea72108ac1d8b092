"""config ipn_format: the IPN as the 2014 form or as a Standard Webhooks JSON body

Revision ID: 0011_ipn_format
Revises: 0010_scale
Create Date: 2026-12-01

Written by hand (issues 15 and 16): a website may ask for a JSON body, which also carries the
refunded amount and test_mode. Existing configs keep the form (the server default), which the
websites written for the 2014 PolyBanking read; a check constraint keeps the names known.
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_ipn_format'
down_revision = '0010_scale'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('configs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ipn_format', sa.String(length=8), server_default='form', nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_configs_ipn_format_known'), "ipn_format IN ('form', 'json')")


def downgrade() -> None:
    with op.batch_alter_table('configs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_configs_ipn_format_known'), type_='check')
        batch_op.drop_column('ipn_format')
