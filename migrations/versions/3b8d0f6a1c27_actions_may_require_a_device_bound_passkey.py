"""Actions may require a device-bound passkey

Revision ID: 3b8d0f6a1c27
Revises: 5d2e8c7a9f13
Create Date: 2026-12-07 15:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b8d0f6a1c27'
down_revision = '5d2e8c7a9f13'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('action_configuration', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_device_bound_passkey', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('action_configuration', schema=None) as batch_op:
        batch_op.drop_column('require_device_bound_passkey')
