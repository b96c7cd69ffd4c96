"""events.kiosk_shelter_id, persons.consent_elsewhere: a kiosk's consent counts as given in person only
where the person has been

Any kiosk token (a carried file holds one) could widen the disclosure consent of anyone in the city:
HQ took every kiosk's consent as given in person (災対法 §86-15: consent comes from the evacuee).  A
consent that widens disclosure now counts so only from a kiosk enrolled at a shelter where the person
has a location event (hq_dashboard.merge.consent_source); the kiosk's shelter is kept with the consent
as HQ received it.  Consents HQ already holds take the shelter their kiosk is enrolled at now.

Revision ID: 0034_consent_where_they_were
Revises: 0033_persons_in_transit_index
Create Date: 2026-11-27 08:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0034_consent_where_they_were'
down_revision = '0033_persons_in_transit_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kiosk_shelter_id', sa.String(length=16), nullable=True))
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_elsewhere', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE events SET kiosk_shelter_id = (SELECT kiosks.shelter_id FROM kiosks"
               " WHERE kiosks.device_id = events.device_id) WHERE type = 'consent'")


def downgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('consent_elsewhere')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('kiosk_shelter_id')
