"""pfif_published: the persons HQ has put in a PFIF export, the only ones it may send as withdrawn

Until now every export listed an expired record for each id that ever had a public consent (self-reported
ones too) or was merged away, so a person protected from her very first check-in, never published, was
listed in every export as "a record exists that is not shown" (災対法 §86-15), and self-reporting a name
told a protected identity from an unknown one by whether a new expired id appeared.  From now on an
export records whom it published, and withdraws only those.

Backfill: HQ does not know which ids earlier exports named, so it takes those that may have been published,
on the safe side for a protected person (a record left standing at another people finder shows where she
is; an expired one only that a record exists):
- a person with a public consent given at a kiosk (in person or with a pre-registration QR: any device but
  the public self-report page, whose consent was never exported) that did not itself set never-disclose.
  A consent that set never-disclose protected the person from the moment it arrived (never-disclose, once
  set, stays), so it never made anyone published; a person protected from her first check-in is left out.
- a merged-away person (her row is gone, her events now belong to the person she was merged into) when a
  person her identity keys now name has such a consent.
The first_published_at of these rows is the upgrade's time (the real one is not known).
Self-reported-only persons are left out, as people the city knows nothing of.

Revision ID: 0031_pfif_published
Revises: 0030_person_households
Create Date: 2026-11-27 03:00:00

"""
import datetime as dt
import json

from alembic import op
import sqlalchemy as sa


revision = '0031_pfif_published'
down_revision = '0030_person_households'
branch_labels = None
depends_on = None

# As they were when this was written (evac.corrections.SELF_REPORT_DEVICE, evac.events.CONSENT).
_SELF_REPORT_DEVICE = 'hq-self-report'
_CONSENT = 'consent'


def upgrade():
    table = op.create_table('pfif_published',
    sa.Column('person_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('first_published_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_pfif_published'))
    )
    bind = op.get_bind()
    may_have_been = set()
    for pid, body in bind.execute(sa.text(
            "SELECT person_id, body FROM events WHERE type = :consent AND device_id <> :self"
            " AND person_id IS NOT NULL"), {"consent": _CONSENT, "self": _SELF_REPORT_DEVICE}):
        data = json.loads(body).get("data", {})
        if data.get("consent") == "public" and not data.get("never_disclose", False):
            may_have_been.add(pid)
    alive = set(bind.execute(sa.text("SELECT id FROM persons")).scalars())
    owner, keys_of_gone = {}, {}
    for key, pid in bind.execute(sa.text("SELECT key, person_id FROM person_keys ORDER BY id")):
        owner[key] = pid   # the latest row for a key says whose it is
        if pid not in alive:
            keys_of_gone.setdefault(pid, set()).add(key)
    for gone, keys in keys_of_gone.items():
        if any(owner[k] in may_have_been for k in keys):
            may_have_been.add(gone)
    now = dt.datetime.now(dt.timezone.utc)
    rows = [{"person_id": pid, "first_published_at": now} for pid in sorted(may_have_been)]
    for i in range(0, len(rows), 1000):
        op.bulk_insert(table, rows[i:i + 1000])


def downgrade():
    op.drop_table('pfif_published')
