"""staff_users.role: what an HQ staff account may open (lead, safety, desk; hq_dashboard.roles.AREAS)

Accounts made before roles could do everything: they become `lead`, so nobody loses a page at the upgrade.
A lead then gives each account its role (`evac hq set-role NAME ROLE`).

A downgrade drops the column and the roles with it: an upgrade again makes every account a `lead` once more,
and each role must be given again (`evac hq list-staff` before the downgrade shows who had which).

Revision ID: 0027_staff_role
Revises: 0026_inquiry_language
Create Date: 2026-11-26 15:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0027_staff_role'
down_revision = '0026_inquiry_language'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), nullable=False, server_default='lead'))


def downgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('role')
