"""A passkey user handle's uniqueness as a partial unique index (only users who have one), instead
of a UNIQUE constraint, whose index also holds a NULL entry for every user without a passkey: one
b-tree fewer written by each new user's first track

Revision ID: 3d9a6b1f0e24
Revises: 8c4f1e2a9d57
Create Date: 2026-12-07 23:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d9a6b1f0e24'
down_revision = '8c4f1e2a9d57'
branch_labels = None
depends_on = None

NAME = 'uq_end_user_webauthn_user_handle'
WHERE = sa.text('webauthn_user_handle IS NOT NULL')


def upgrade():
    with op.batch_alter_table('end_user') as batch_op:
        batch_op.drop_constraint(NAME, type_='unique')
    op.create_index(NAME, 'end_user', ['webauthn_user_handle'], unique=True, sqlite_where=WHERE,
                    postgresql_where=WHERE)


def downgrade():
    op.drop_index(NAME, table_name='end_user')
    with op.batch_alter_table('end_user') as batch_op:
        batch_op.create_unique_constraint(NAME, ['webauthn_user_handle'])
