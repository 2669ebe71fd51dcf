"""Text-message codes: a code challenge's channel (email, sms, whatsapp), and webhook events'
sealed data (the code an email.created or sms.created event carries, encrypted)

Revision ID: 5b8e2f0c7a13
Revises: 5e2c9a7d4b13
Create Date: 2026-12-07 15:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b8e2f0c7a13'
down_revision = "5e2c9a7d4b13"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('code_challenge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), server_default='email', nullable=False))
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_data', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.drop_column('sealed_data')
    with op.batch_alter_table('code_challenge', schema=None) as batch_op:
        batch_op.drop_column('channel')
