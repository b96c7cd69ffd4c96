"""prereg_keys.retired_at: a QR signing key HQ no longer trusts (kiosks refuse its QRs after their next sync)

Revision ID: 0019_prereg_key_retired
Revises: 0018_kiosk_checks_in_at
Create Date: 2026-11-26 02:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0019_prereg_key_retired'
down_revision = '0018_kiosk_checks_in_at'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('prereg_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('prereg_keys', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
