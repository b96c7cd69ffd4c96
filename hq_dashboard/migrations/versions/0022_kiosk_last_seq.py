"""kiosks.last_seq: the highest record a kiosk has written, as it said with its last batch

Revision ID: 0022_kiosk_last_seq
Revises: 0021_kiosk_refusal
Create Date: 2026-11-26 07:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0022_kiosk_last_seq'
down_revision = '0021_kiosk_refusal'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seq', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.drop_column('last_seq')
