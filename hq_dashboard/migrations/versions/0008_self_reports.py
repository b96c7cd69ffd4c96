"""counts of people safe outside the shelters by their own report

Revision ID: 0008_self_reports
Revises: 0007_notify
Create Date: 2026-11-25 17:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008_self_reports'
down_revision = '0007_notify'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('self_report_counts',
    sa.Column('place', sa.String(length=20), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('place', name=op.f('pk_self_report_counts'))
    )


def downgrade():
    op.drop_table('self_report_counts')
