"""kiosks.refused_*: the batch HQ last refused from a kiosk for a reason the kiosk cannot get past alone

Revision ID: 0021_kiosk_refusal
Revises: 0020_persons_protected_index
Create Date: 2026-11-26 04:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0021_kiosk_refusal'
down_revision = '0020_persons_protected_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refused_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('refused_seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('refused_message', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('refused_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.drop_column('refused_at')
        batch_op.drop_column('refused_message')
        batch_op.drop_column('refused_seq')
        batch_op.drop_column('refused_code')
