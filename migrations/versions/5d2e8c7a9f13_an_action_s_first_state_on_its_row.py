"""An action's first state on its row: a track writes no history row

Revision ID: 5d2e8c7a9f13
Revises: 7c1e5a9b2d40
Create Date: 2026-12-07 16:00:00.000000

The first entry of every action's history (from no state to the state it was created in) moves from
action_state_change to user_action.initial_state / created_by; later changes stay where they are.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d2e8c7a9f13'
down_revision = '7c1e5a9b2d40'
branch_labels = None
depends_on = None

STATE = sa.Enum('ALLOW', 'BLOCK', 'CHALLENGE_REQUIRED', 'CHALLENGE_SUCCEEDED', 'CHALLENGE_FAILED', 'REVIEW_REQUIRED',
                'REVIEW_SUCCEEDED', 'REVIEW_FAILED', name='actionstate', native_enum=False, length=32)
FIRST = ("(SELECT {column} FROM action_state_change c WHERE c.user_action_id = user_action.id"
         " AND c.from_state IS NULL ORDER BY c.id LIMIT 1)")


def upgrade():
    with op.batch_alter_table('user_action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('initial_state', STATE, nullable=True))
        batch_op.add_column(sa.Column('created_by', sa.String(length=32), nullable=True))
    # An action with no first entry (none should lack one) starts from the state it is in.
    op.execute(f"UPDATE user_action SET initial_state = COALESCE({FIRST.format(column='to_state')}, state),"
               f" created_by = COALESCE({FIRST.format(column='source')}, 'track')")
    op.execute("DELETE FROM action_state_change WHERE from_state IS NULL")
    with op.batch_alter_table('user_action', schema=None) as batch_op:
        batch_op.alter_column('initial_state', existing_type=STATE, nullable=False)
        batch_op.alter_column('created_by', existing_type=sa.String(length=32), nullable=False)


def downgrade():
    op.execute("INSERT INTO action_state_change (user_action_id, from_state, to_state, source, changed_at)"
               " SELECT id, NULL, initial_state, created_by, created_at FROM user_action")
    with op.batch_alter_table('user_action', schema=None) as batch_op:
        batch_op.drop_column('created_by')
        batch_op.drop_column('initial_state')
