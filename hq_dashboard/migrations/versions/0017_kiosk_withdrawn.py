"""kiosks.withdrawn: records a shelter's lead withdrew because HQ refused them for good

Revision ID: 0017_kiosk_withdrawn
Revises: 0016_field_orders
Create Date: 2026-11-25 21:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0017_kiosk_withdrawn'
down_revision = '0016_field_orders'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE kiosks SET withdrawn = (SELECT count(*) FROM events"
               " WHERE events.device_id = kiosks.device_id AND events.type = 'withdrawn')"
               " WHERE device_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.drop_column('withdrawn')
