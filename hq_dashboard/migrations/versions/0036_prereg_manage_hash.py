"""prereg_households.manage_hash: a family cancels or changes its own pre-registration by a secret link

HQ gives the household a secret link once, at registration; it keeps only its SHA-256 (a copy of the
database opens no registration).  Households registered before have none and go on asking the city.

Revision ID: 0036_prereg_manage_hash
Revises: 0035_kiosk_corrections
Create Date: 2026-11-27 14:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0036_prereg_manage_hash'
down_revision = '0035_kiosk_corrections'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('prereg_households', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manage_hash', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_prereg_households_manage_hash'), ['manage_hash'], unique=True)
        # The registration a change replaced this one with: staff revoking an old number revoke the current one.
        batch_op.add_column(sa.Column('replaced_by', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('prereg_households', schema=None) as batch_op:
        batch_op.drop_column('replaced_by')
        batch_op.drop_index(batch_op.f('ix_prereg_households_manage_hash'))
        batch_op.drop_column('manage_hash')
