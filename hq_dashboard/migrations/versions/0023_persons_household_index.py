"""ix_persons_household_id: the members of the few protected households, read with every kiosk sync

The kiosks' protection digests cover everyone of a protected person's household (api._protected,
safety.protected_identities(households=True)); without it each sync would scan the whole city.

Revision ID: 0023_persons_household_index
Revises: 0022_kiosk_last_seq
Create Date: 2026-11-26 07:00:00

"""
from alembic import op


revision = '0023_persons_household_index'
down_revision = '0022_kiosk_last_seq'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_persons_household_id', 'persons', ['household_id'], unique=False)


def downgrade():
    op.drop_index('ix_persons_household_id', table_name='persons')
