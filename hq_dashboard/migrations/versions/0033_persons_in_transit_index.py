"""ix_persons_in_transit: the few people between shelters, counted with every dashboard and wall refresh

Without it each refresh read every person in the city to count those in transit (移動中).

Revision ID: 0033_persons_in_transit_index
Revises: 0032_kiosk_retired
Create Date: 2026-11-27 06:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0033_persons_in_transit_index'
down_revision = '0032_kiosk_retired'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_persons_in_transit', 'persons', ['shelter_id', 'loc_order'], unique=False,
                    sqlite_where=sa.text("state = 'in_transit'"), postgresql_where=sa.text("state = 'in_transit'"))


def downgrade():
    op.drop_index('ix_persons_in_transit', table_name='persons')
