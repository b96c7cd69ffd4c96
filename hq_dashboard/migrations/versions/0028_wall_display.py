"""wall_displays: HQ's wall screens, shown the dashboard's numbers and the map and never logged out

A display is not a staff account: it has no password and no role, and opens no staff page
(hq_dashboard.wall_display).  Its one-time link and its browser's cookie are kept only as hashes.
No rows to carry over.

Revision ID: 0028_wall_display
Revises: 0027_staff_role
Create Date: 2026-11-26 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0028_wall_display'
down_revision = '0027_staff_role'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wall_displays',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('link_hash', sa.String(length=64), nullable=False),
    sa.Column('session_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wall_displays')),
    sa.UniqueConstraint('link_hash', name=op.f('uq_wall_displays_link_hash')),
    sa.UniqueConstraint('session_hash', name=op.f('uq_wall_displays_session_hash'))
    )
    with op.batch_alter_table('wall_displays', schema=None) as batch_op:
        batch_op.create_index('ix_wall_displays_live_name', ['name'], unique=True,
                              sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))


def downgrade():
    with op.batch_alter_table('wall_displays', schema=None) as batch_op:
        batch_op.drop_index('ix_wall_displays_live_name')
    op.drop_table('wall_displays')
