"""ix_persons_protected: the few never-disclose persons, read with every kiosk sync without a scan

Their digests go to every kiosk (evac.disclosure.protection_digests), in the configuration whose
version every sync answer carries.

Revision ID: 0020_persons_protected_index
Revises: 0019_prereg_key_retired
Create Date: 2026-11-26 02:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0020_persons_protected_index'
down_revision = '0019_prereg_key_retired'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_persons_protected', 'persons', ['birth_date'], unique=False,
                    sqlite_where=sa.text('never_disclose = 1'), postgresql_where=sa.text('never_disclose = true'))


def downgrade():
    op.drop_index('ix_persons_protected', table_name='persons')
