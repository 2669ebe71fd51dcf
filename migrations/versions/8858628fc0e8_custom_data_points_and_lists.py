"""custom data points and custom lists

Revision ID: 8858628fc0e8
Revises: d4cea920b079
Create Date: 2026-11-26 09:23:04.130511

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = '8858628fc0e8'
down_revision = 'd4cea920b079'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('custom_data_point',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('data_type', sa.String(length=16), nullable=False),
    sa.Column('model_type', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_custom_data_point_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_data_point')),
    sa.UniqueConstraint('tenant_id', 'model_type', 'name', name=op.f('uq_custom_data_point_tenant_id_model_type_name'))
    )
    op.create_table('custom_list',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_custom_list_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custom_list')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_custom_list_tenant_id_name'))
    )


def downgrade():
    op.drop_table('custom_list')
    op.drop_table('custom_data_point')
