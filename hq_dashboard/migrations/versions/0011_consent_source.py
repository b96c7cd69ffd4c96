"""where a person's latest consent came from (a kiosk, or the public self-report page)

Revision ID: 0011_consent_source
Revises: 0010_full_and_contact
Create Date: 2026-11-25 16:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011_consent_source'
down_revision = '0010_full_and_contact'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_source', sa.String(length=8), nullable=False, server_default='kiosk'))


def downgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('consent_source')
