"""kiosks.retired_at: a kiosk HQ staff retired (its database replaced, the machine gone)

A kiosk whose database was replaced (`evac kiosk new-device`, enrolled again) stayed on the dashboard for
good, silent and refused, among the kiosks staff must watch.  A retired kiosk's token no longer works; it
leaves the dashboard's kiosk table and alerts; what HQ holds from it stays.

Revision ID: 0032_kiosk_retired
Revises: 0031_pfif_published
Create Date: 2026-11-27 06:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0032_kiosk_retired'
down_revision = '0031_pfif_published'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
