"""failures by client address of every kind

Failed console sign-ins move from sign_in_failure into address_failure, with a kind, so invalid
API keys are counted in the same table by the same per-address limit. The rows are copied, so no
address gets a fresh allowance from the upgrade.

Revision ID: f31cbedf3c95
Revises: e0878aaba245
Create Date: 2026-11-27 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = 'f31cbedf3c95'
down_revision = 'e0878aaba245'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('address_failure',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('client_ip', sa.String(length=64), nullable=False),
    sa.Column('failed_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_address_failure'))
    )
    with op.batch_alter_table('address_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_address_failure_kind_client_ip_failed_at'), ['kind', 'client_ip', 'failed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_address_failure_kind_failed_at'), ['kind', 'failed_at'], unique=False)

    op.execute("INSERT INTO address_failure (kind, client_ip, failed_at) "
               "SELECT 'sign_in', client_ip, failed_at FROM sign_in_failure")

    with op.batch_alter_table('sign_in_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_failure_failed_at'))
        batch_op.drop_index(batch_op.f('ix_sign_in_failure_client_ip_failed_at'))

    op.drop_table('sign_in_failure')


def downgrade():
    op.create_table('sign_in_failure',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_ip', sa.String(length=64), nullable=False),
    sa.Column('failed_at', app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failure'))
    )
    with op.batch_alter_table('sign_in_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_failure_client_ip_failed_at'), ['client_ip', 'failed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_failure_failed_at'), ['failed_at'], unique=False)

    op.execute("INSERT INTO sign_in_failure (client_ip, failed_at) "
               "SELECT client_ip, failed_at FROM address_failure WHERE kind = 'sign_in'")

    with op.batch_alter_table('address_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_address_failure_kind_failed_at'))
        batch_op.drop_index(batch_op.f('ix_address_failure_kind_client_ip_failed_at'))

    op.drop_table('address_failure')
