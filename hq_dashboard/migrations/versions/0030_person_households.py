"""person_households: the households of persons recorded in more than one, not only the latest

Protection through a household (災対法 §86-15: the family who fled with a protected person) is decided by
every household a person and the protected person have ever been in at HQ, so that a child of a protected
mother who checks in again with a grandmother (or a mother who re-registers alone) stays protected.
A person's households are persons.household_id and these rows; only persons seen in more than one have
rows.  Backfilled from the households the events HQ holds name (events.person_id is already the person a
merge kept) that are not the person's household now, with that one.

Revision ID: 0030_person_households
Revises: 0029_inquiry_sex
Create Date: 2026-11-27 03:00:00

"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0030_person_households'
down_revision = '0029_inquiry_sex'
branch_labels = None
depends_on = None

_CHUNK = 5000


def upgrade():
    op.create_table(
        'person_households',
        sa.Column('person_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('household_id', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('person_id', 'household_id'),
    )
    with op.batch_alter_table('person_households', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_households_household_id'), ['household_id'], unique=False)
    conn = op.get_bind()
    now = dict(conn.execute(sa.text("SELECT id, household_id FROM persons")).all())
    # Older households live only in the log.  Read in Python, not with each database's JSON functions: a
    # body that is not JSON (none should be) is skipped rather than stopping the upgrade.
    found = set()
    rows = conn.execute(sa.text(
        "SELECT e.person_id, e.body FROM events e JOIN persons p ON p.id = e.person_id"
        " WHERE e.body LIKE '%\"household_id\"%'").execution_options(stream_results=True))
    for person_id, body in rows:
        try:
            household = json.loads(body).get("household_id")
        except (ValueError, TypeError, AttributeError):
            continue
        if isinstance(household, str) and household and household != now[person_id]:
            found.add((person_id, household))
            if now[person_id]:
                found.add((person_id, now[person_id]))
    table = sa.table('person_households', sa.column('person_id', sa.Integer), sa.column('household_id', sa.String))
    found = sorted(found)
    for i in range(0, len(found), _CHUNK):
        conn.execute(table.insert(), [{"person_id": p, "household_id": h} for p, h in found[i:i + _CHUNK]])


def downgrade():
    with op.batch_alter_table('person_households', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_households_household_id'))
    op.drop_table('person_households')
