"""reason codes on review decisions, a tenant's list of them

Revision ID: 452c3fc785e7
Revises: 135aa94f289c
Create Date: 2026-12-03 14:33:50.881337

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = '452c3fc785e7'
down_revision = '135aa94f289c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('review_decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reason_label', sa.String(length=80), nullable=True))
        batch_op.create_index(batch_op.f('ix_review_decision_tenant_id_reason_code'), ['tenant_id', 'reason_code'], unique=False)

    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_reasons', sa.JSON(), nullable=True))



def downgrade():
    with op.batch_alter_table('tenant', schema=None) as batch_op:
        batch_op.drop_column('review_reasons')

    with op.batch_alter_table('review_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_decision_tenant_id_reason_code'))
        batch_op.drop_column('reason_label')
        batch_op.drop_column('reason_code')

