"""kiosk_corrections: a staff correction re-files only its own kiosk's records

A correction said "the identity known as A is really B" for the whole city: HQ linked both keys to one
person for good.  When A was someone else's (twins at one address, 佐藤 優 typed for 佐藤 優子; a son's
birth date typed as his father's), the two became one person: one vanished from the counts and an
inquiry about one was answered with the other's shelter.  Now HQ keeps each kiosk's corrections, as the
kiosk does (its corrected_keys): that kiosk's records under A are B's, other kiosks' records under A
stay A's (hq_dashboard.merge).  Corrections HQ already holds are taken into the table; the persons
they joined stay joined (no deployment holds any yet).

Revision ID: 0035_kiosk_corrections
Revises: 0034_consent_where_they_were
Create Date: 2026-11-27 11:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0035_kiosk_corrections'
down_revision = '0034_consent_where_they_were'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('kiosk_corrections',
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('old_key', sa.String(length=80), nullable=False),
    sa.Column('new_key', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('device_id', 'old_key', name=op.f('pk_kiosk_corrections'))
    )
    # The corrections already held, each kiosk's in its order.
    import json
    from evac.corrections import moved_on
    from evac.identity import person_key
    bind = op.get_bind()
    moved: dict[str, dict[str, str]] = {}
    for device, body in bind.execute(sa.text("SELECT device_id, body FROM events WHERE type = 'correction'"
                                             " ORDER BY device_id, seq")):
        ev = json.loads(body)
        old, new = ev["person"], ev["data"]["person"]
        said = person_key(old["name"], old["birth_date"], old.get("address") or "")
        mine = moved.get(device, {})
        moved[device] = moved_on(mine, mine.get(said, said),
                                 person_key(new["name"], new["birth_date"], new.get("address") or ""))
    rows = [{"device_id": d, "old_key": old, "new_key": new} for d, m in moved.items() for old, new in m.items()]
    if rows:
        op.bulk_insert(sa.table('kiosk_corrections', sa.column('device_id'), sa.column('old_key'),
                                sa.column('new_key')), rows)


def downgrade():
    op.drop_table('kiosk_corrections')
