"""Remembered devices: trusted_device rows and the tenant's remember-device days

Revision ID: 5e2c9a7d4b13
Revises: 3b8d0f6a1c27
Create Date: 2026-12-07 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = '5e2c9a7d4b13'
down_revision = "3b8d0f6a1c27"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'trusted_device',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('end_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('device_id', sa.String(length=255), nullable=False),
        sa.Column('token_digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', app.models.base.UTCDateTime(), nullable=False),
        sa.Column('expires_at', app.models.base.UTCDateTime(), nullable=False),
        sa.Column('last_used_at', app.models.base.UTCDateTime(), nullable=True),
        sa.Column('user_agent', sa.String(length=120), nullable=True),
        sa.Column('revoked_at', app.models.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['end_user_id'], ['end_user.id'], name=op.f('fk_trusted_device_end_user_id_end_user'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_trusted_device_tenant_id_tenant'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_trusted_device')),
        sa.UniqueConstraint('token_digest', name=op.f('uq_trusted_device_token_digest')),
    )
    with op.batch_alter_table('trusted_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trusted_device_end_user_id_device_id'), ['end_user_id', 'device_id'],
                              unique=False)
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('remember_device_days', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('remember_device_days')
    with op.batch_alter_table('trusted_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trusted_device_end_user_id_device_id'))
    op.drop_table('trusted_device')
