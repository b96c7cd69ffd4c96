"""inquiries.language: the public page's language an inquiry was sent in, so its e-mail news speaks it

Inquiries made before this release have none ('') and keep getting their news in Japanese and English.

Revision ID: 0026_inquiry_language
Revises: 0025_staff_sessions
Create Date: 2026-11-26 15:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0026_inquiry_language'
down_revision = '0025_staff_sessions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_column('language')
