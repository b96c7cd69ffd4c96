"""e-mail news for inquirers

Revision ID: 0007_notify
Revises: 0006_pfif
Create Date: 2026-11-25 16:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007_notify'
down_revision = '0006_pfif'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_email', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_column('notified_at')
        batch_op.drop_column('notify_email')
