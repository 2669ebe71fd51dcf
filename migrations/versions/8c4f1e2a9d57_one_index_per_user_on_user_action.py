"""One index for everything read of a user's actions: (tenant, user, created_at, device, address)
replaces the three per-user indexes (by time, by device, by address), so a track writes two
b-trees fewer

Revision ID: 8c4f1e2a9d57
Revises: 5b8e2f0c7a13
Create Date: 2026-12-07 19:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8c4f1e2a9d57'
down_revision = "5b8e2f0c7a13"
branch_labels = None
depends_on = None

MERGED = ['tenant_id', 'user_id', 'created_at', 'device_id', 'ip_address']
# (name, columns, the column a partial index requires) of the indexes it replaces.
REPLACED = [
    ('ix_user_action_tenant_id_user_id_created_at', ['tenant_id', 'user_id', 'created_at'], None),
    ('ix_user_action_tenant_id_user_id_device_id_created_at', ['tenant_id', 'user_id', 'device_id', 'created_at'],
     'device_id'),
    ('ix_user_action_tenant_id_user_id_ip_address', ['tenant_id', 'user_id', 'ip_address'], 'ip_address'),
]


def upgrade():
    op.create_index('ix_user_action_per_user', 'user_action', MERGED, unique=False)
    for name, _columns, _column in REPLACED:
        op.drop_index(name, table_name='user_action')


def downgrade():
    for name, columns, column in REPLACED:
        where = sa.text(f'{column} IS NOT NULL') if column else None
        op.create_index(name, 'user_action', columns, unique=False, sqlite_where=where, postgresql_where=where)
    op.drop_index('ix_user_action_per_user', table_name='user_action')
