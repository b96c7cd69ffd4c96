"""staff_users.disabled_at: an HQ staff account that may no longer log in (someone who left)

The account is kept, so the reviews and audit entries it made keep its name.

Revision ID: 0024_staff_disabled
Revises: 0023_persons_household_index
Create Date: 2026-11-26 11:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0024_staff_disabled'
down_revision = '0023_persons_household_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
