"""review assignments: a claim an admin gives a reviewer, without lapse

Revision ID: 135aa94f289c
Revises: f31cbedf3c95
Create Date: 2026-12-03 14:31:25.181000

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = '135aa94f289c'
down_revision = 'f31cbedf3c95'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('review_claim', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_by', sa.String(length=320), nullable=True))
        batch_op.alter_column('expires_at',
               existing_type=app.models.base.UTCDateTime(timezone=True),
               nullable=True)



def downgrade():
    # Assignments have no lapse time to keep: they end, like a released claim.
    op.execute("DELETE FROM review_claim WHERE expires_at IS NULL")
    with op.batch_alter_table('review_claim', schema=None) as batch_op:
        batch_op.alter_column('expires_at',
               existing_type=app.models.base.UTCDateTime(timezone=True),
               nullable=False)
        batch_op.drop_column('assigned_by')

