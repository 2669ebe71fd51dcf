"""Index only what is read on the tables a track writes: partial indexes for optional columns, no
index on user_action.action_configuration_id

Revision ID: a7c3e91f0b24
Revises: e6205155f0a7
Create Date: 2026-12-04 23:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91f0b24'
down_revision = "e6205155f0a7"
branch_labels = None
depends_on = None

# (table, index, columns, the column that must be set); each index is rebuilt as a partial one.
PARTIAL = [
    ('user_action', 'ix_user_action_tenant_id_user_id_device_id_created_at',
     ['tenant_id', 'user_id', 'device_id', 'created_at'], 'device_id'),
    ('user_action', 'ix_user_action_tenant_id_user_id_ip_address', ['tenant_id', 'user_id', 'ip_address'], 'ip_address'),
    ('user_action', 'ix_user_action_tenant_id_device_id_created_at', ['tenant_id', 'device_id', 'created_at'], 'device_id'),
    ('user_action', 'ix_user_action_tenant_id_ip_address_created_at', ['tenant_id', 'ip_address', 'created_at'],
     'ip_address'),
    ('end_user', 'ix_end_user_tenant_id_email', ['tenant_id', 'email'], 'email'),
    ('end_user', 'ix_end_user_tenant_id_phone_number', ['tenant_id', 'phone_number'], 'phone_number'),
    ('end_user', 'ix_end_user_tenant_id_username', ['tenant_id', 'username'], 'username'),
]


def upgrade():
    op.drop_index('ix_user_action_action_configuration_id', table_name='user_action')
    for table, name, columns, column in PARTIAL:
        op.drop_index(name, table_name=table)
        where = sa.text(f'{column} IS NOT NULL')
        op.create_index(name, table, columns, unique=False, sqlite_where=where, postgresql_where=where)


def downgrade():
    for table, name, columns, _column in PARTIAL:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, unique=False)
    op.create_index('ix_user_action_action_configuration_id', 'user_action', ['action_configuration_id'], unique=False)
