"""revocable admin sessions

Revision ID: 0008_sessions
Revises: 0007_operations
Create Date: 2026-12-01

Written by hand (issue 16): one row per signed-in admin session, keyed by the SHA-256 of the
random token its cookie carries; signing out, a password change, disabling the user or "sign out
everywhere" delete rows, and a cookie whose row is gone is no longer signed in.
"""
from alembic import op
import sqlalchemy as sa
import polybanking.models.meta


revision = '0008_sessions'
down_revision = '0007_operations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admin_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', polybanking.models.meta.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_admin_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_admin_sessions_token_hash'))
    )
    with op.batch_alter_table('admin_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_sessions_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('admin_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_sessions_user_id'))

    op.drop_table('admin_sessions')
