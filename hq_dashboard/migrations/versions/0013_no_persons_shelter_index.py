"""drop persons.shelter_id's index: nothing reads it, and the merge rewrote it on every check-in

Revision ID: 0013_no_persons_shelter_index
Revises: 0012_one_settings_table
Create Date: 2026-11-25 18:00:00

"""
from alembic import op


revision = '0013_no_persons_shelter_index'
down_revision = '0012_one_settings_table'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_persons_shelter_id', table_name='persons')


def downgrade():
    op.create_index('ix_persons_shelter_id', 'persons', ['shelter_id'], unique=False)
