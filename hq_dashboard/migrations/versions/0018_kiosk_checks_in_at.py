"""kiosks.checks_in_at: the shelter of a kiosk's latest check-in (a kiosk moved, or started for the wrong shelter)

Revision ID: 0018_kiosk_checks_in_at
Revises: 0017_kiosk_withdrawn
Create Date: 2026-11-26 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0018_kiosk_checks_in_at'
down_revision = '0017_kiosk_withdrawn'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checks_in_at', sa.String(length=16), nullable=True))
    op.execute("UPDATE kiosks SET checks_in_at = (SELECT e.shelter_id FROM events e"
               " WHERE e.device_id = kiosks.device_id AND e.type = 'checkin' ORDER BY e.seq DESC LIMIT 1)"
               " WHERE device_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.drop_column('checks_in_at')
