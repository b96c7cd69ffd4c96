"""person_households: every household a person has been recorded in, not only the latest

Protection through a household (災対法 §86-15: the family who fled with a protected person) is decided by
every household a person and the protected person have ever been in at HQ, so that a child of a protected
mother who checks in again with a grandmother (or a mother who re-registers alone) stays protected.
Backfilled from the persons' current households and from the households named by the events HQ holds
(events.person_id is already the person a merge kept).

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
    conn.execute(sa.text("INSERT INTO person_households (person_id, household_id)"
                         " SELECT id, household_id FROM persons WHERE household_id != ''"))
    # Older households live only in the log.  Read in Python, not with each database's JSON functions: a
    # body that is not JSON (none should be) is skipped rather than stopping the upgrade.
    held = set(conn.execute(sa.text("SELECT person_id, household_id FROM person_households")).all())
    found = set()
    rows = conn.execute(sa.text(
        "SELECT e.person_id, e.body FROM events e JOIN persons p ON p.id = e.person_id"
        " WHERE e.body LIKE '%\"household_id\"%'").execution_options(stream_results=True))
    for person_id, body in rows:
        try:
            household = json.loads(body).get("household_id")
        except (ValueError, TypeError, AttributeError):
            continue
        if isinstance(household, str) and household and (person_id, household) not in held:
            found.add((person_id, household))
    table = sa.table('person_households', sa.column('person_id', sa.Integer), sa.column('household_id', sa.String))
    found = sorted(found)
    for i in range(0, len(found), _CHUNK):
        conn.execute(table.insert(), [{"person_id": p, "household_id": h} for p, h in found[i:i + _CHUNK]])


def downgrade():
    with op.batch_alter_table('person_households', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_households_household_id'))
    op.drop_table('person_households')
