"""one table of HQ's named values: hq_settings (the disaster in progress) joins hq_meta

Revision ID: 0012_one_settings_table
Revises: 0011_consent_source
Create Date: 2026-11-25 16:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012_one_settings_table'
down_revision = '0011_consent_source'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("INSERT INTO hq_meta (name, value) SELECT key, value FROM hq_settings "
               "WHERE key NOT IN (SELECT name FROM hq_meta)")
    op.drop_table('hq_settings')


def downgrade():
    op.create_table('hq_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_hq_settings'))
    )
    op.execute("INSERT INTO hq_settings (key, value) SELECT name, value FROM hq_meta WHERE name = 'disaster'")
    op.execute("DELETE FROM hq_meta WHERE name = 'disaster'")
