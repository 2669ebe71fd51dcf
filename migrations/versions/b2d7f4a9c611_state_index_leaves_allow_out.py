"""The (tenant_id, state, created_at) index on user_action holds only actions not in ALLOW: every
query it serves names another state, and most tracks end ALLOW, so its entries for them were
written by each track and read by none

Revision ID: b2d7f4a9c611
Revises: 3d9a6b1f0e24
Create Date: 2026-12-08 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b2d7f4a9c611'
down_revision = '3d9a6b1f0e24'
branch_labels = None
depends_on = None

NAME = 'ix_user_action_tenant_id_state_created_at'
COLUMNS = ['tenant_id', 'state', 'created_at']
WHERE = sa.text("state <> 'ALLOW'")


def upgrade():
    op.drop_index(NAME, table_name='user_action')
    op.create_index(NAME, 'user_action', COLUMNS, unique=False, sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade():
    op.drop_index(NAME, table_name='user_action')
    op.create_index(NAME, 'user_action', COLUMNS, unique=False)
