"""audit hash chain: each entry's place, digest and link, and the tenant's head

Revision ID: 32c201d3c7b2
Revises: c73f21d367d0
Create Date: 2026-12-04 20:58:53.991544

"""
from alembic import op
import sqlalchemy as sa

import app.models.base


# revision identifiers, used by Alembic.
revision = '32c201d3c7b2'
down_revision = 'c73f21d367d0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_chain_head',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.Column('verified_seq', sa.BigInteger(), nullable=False),
    sa.Column('verified_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_audit_chain_head_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_audit_chain_head'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('content_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('chain_hash', sa.String(length=64), nullable=True))
    _chain_existing_entries()
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('chain_seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('content_digest', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('chain_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_event_tenant_id_chain_seq'), ['tenant_id', 'chain_seq'])


BATCH = 1000
_EVENT = sa.table(
    'audit_event', sa.column('id', sa.BigInteger()), sa.column('tenant_id', sa.String()),
    sa.column('actor_email', sa.String()), sa.column('occurred_at', app.models.base.UTCDateTime()),
    sa.column('event', sa.String()), sa.column('target_type', sa.String()), sa.column('target_id', sa.String()),
    sa.column('before', sa.JSON()), sa.column('after', sa.JSON()), sa.column('chain_seq', sa.BigInteger()),
    sa.column('content_digest', sa.String()), sa.column('chain_hash', sa.String()),
)
_HEAD = sa.table('audit_chain_head', sa.column('tenant_id', sa.String()), sa.column('seq', sa.BigInteger()),
                 sa.column('chain_hash', sa.String()), sa.column('verified_seq', sa.BigInteger()),
                 sa.column('verified_hash', sa.String()))


def _chain_existing_entries():
    """Chain what is already there, per tenant in id order (the order it was written), so an
    upgraded database verifies from its first entry. The hashing is the domain's: the chain's format."""
    from app.domain.audit_chain import GENESIS, audit_content, chain_hash, content_digest

    bind = op.get_bind()
    tenants = bind.execute(sa.select(_EVENT.c.tenant_id).distinct()).scalars().all()
    update = (sa.update(_EVENT).where(_EVENT.c.id == sa.bindparam('entry_id'))
              .values(chain_seq=sa.bindparam('seq'), content_digest=sa.bindparam('digest'),
                      chain_hash=sa.bindparam('link')))
    for tenant_id in tenants:
        seq, link, last_id = 0, GENESIS, 0
        while True:
            rows = bind.execute(sa.select(_EVENT).where(_EVENT.c.tenant_id == tenant_id, _EVENT.c.id > last_id)
                                .order_by(_EVENT.c.id).limit(BATCH)).all()
            if not rows:
                break
            changes = []
            for row in rows:
                seq += 1
                digest = content_digest(audit_content(
                    event=row.event, actor=row.actor_email, occurred_at=row.occurred_at, target_type=row.target_type,
                    target_id=row.target_id, before=row.before, after=row.after))
                link = chain_hash(link, seq, digest)
                changes.append({'entry_id': row.id, 'seq': seq, 'digest': digest, 'link': link})
            bind.execute(update, changes)
            last_id = rows[-1].id
        bind.execute(sa.insert(_HEAD).values(tenant_id=tenant_id, seq=seq, chain_hash=link, verified_seq=0,
                                             verified_hash=GENESIS))


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_event_tenant_id_chain_seq'), type_='unique')
        batch_op.drop_column('chain_hash')
        batch_op.drop_column('content_digest')
        batch_op.drop_column('chain_seq')

    op.drop_table('audit_chain_head')
