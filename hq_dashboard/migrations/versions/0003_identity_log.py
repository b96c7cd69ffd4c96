"""person_keys becomes an append-only log read into memory; hq_meta

Revision ID: 0003_identity_log
Revises: 0002_prereg
Create Date: 2026-11-25 15:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0003_identity_log'
down_revision = '0002_prereg'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hq_meta',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_hq_meta'))
    )
    # Rows are carried over in memory: renaming the old table would keep its
    # constraint names, which PostgreSQL needs free for the new one.
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT key, person_id FROM person_keys ORDER BY person_id, key")).all()
    _create(key_is_primary=False)
    if rows:
        bind.execute(sa.text("INSERT INTO person_keys (key, person_id) VALUES (:key, :pid)"),
                     [{"key": k, "pid": p} for k, p in rows])


def _create(key_is_primary: bool):
    with op.batch_alter_table('person_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_person_keys_person_id')
    op.drop_table('person_keys')
    if key_is_primary:
        op.create_table('person_keys',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_person_keys'))
        )
    else:
        op.create_table('person_keys',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_person_keys'))
        )
    with op.batch_alter_table('person_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_keys_person_id'), ['person_id'], unique=False)


def downgrade():
    bind = op.get_bind()
    # The latest row of each key is the mapping.
    rows = dict(bind.execute(sa.text("SELECT key, person_id FROM person_keys ORDER BY id")).all())
    _create(key_is_primary=True)
    if rows:
        bind.execute(sa.text("INSERT INTO person_keys (key, person_id) VALUES (:key, :pid)"),
                     [{"key": k, "pid": p} for k, p in rows.items()])
    op.drop_table('hq_meta')
