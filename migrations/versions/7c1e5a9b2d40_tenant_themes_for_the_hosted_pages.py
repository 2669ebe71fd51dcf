"""Tenant themes for the hosted pages

Revision ID: 7c1e5a9b2d40
Revises: a7c3e91f0b24
Create Date: 2026-12-04 22:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e5a9b2d40'
down_revision = "a7c3e91f0b24"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('theme', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('theme')
