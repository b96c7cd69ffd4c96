"""transport IC card links known at HQ

Revision ID: 0004_ic_links
Revises: 0003_identity_log
Create Date: 2026-11-25 15:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004_ic_links'
down_revision = '0003_identity_log'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ic_links',
    sa.Column('token', sa.String(length=40), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('link_order', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_ic_links'))
    )
    with op.batch_alter_table('ic_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ic_links_person_id'), ['person_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ic_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ic_links_person_id'))
    op.drop_table('ic_links')
