"""left_elsewhere: HQ tells each kiosk which of the people it checked in were recorded since at another shelter

A kiosk's roster and headcount kept someone who had checked in at another shelter since (HQ knew): its staff
went looking for them.  HQ now keeps, per kiosk record that no longer says where the person is, a word the
kiosk reads with its sync (hq_dashboard.left_elsewhere).  Moves HQ already holds are written now, from the
records, as the merge would have.

Revision ID: 0038_left_elsewhere
Revises: 0037_closed_stays_closed
Create Date: 2026-11-28 02:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0038_left_elsewhere'
down_revision = '0037_closed_stays_closed'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('left_elsewhere',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_left_elsewhere'))
    )
    op.create_index('ix_left_elsewhere_device', 'left_elsewhere', ['device_id', 'id'], unique=False)
    op.create_index(op.f('ix_left_elsewhere_person_id'), 'left_elsewhere', ['person_id'], unique=False)
    from hq_dashboard.left_elsewhere import words_for
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, state, shelter_id, loc_order, never_disclose, household_id FROM persons")).all()
    # Protection reaches the household (its members now or before: person_households), as the merge reads it.
    homes = {pid: {home} - {""} for pid, *_, home in rows}
    for pid, home in conn.execute(sa.text("SELECT person_id, household_id FROM person_households")):
        homes.setdefault(pid, set()).add(home)
    guarded = set().union(*(homes[pid] for pid, _, _, _, never, _ in rows if never)) if rows else set()
    persons = {pid: (state, shelter, loc_order, bool(never) or bool(homes[pid] & guarded))
               for pid, state, shelter, loc_order, never, _ in rows}
    latest: dict[tuple[int, str], tuple] = {}
    for pid, device, seq, hlc, etype, shelter in conn.execute(sa.text(
            "SELECT person_id, device_id, seq, hlc, type, shelter_id FROM events WHERE person_id IS NOT NULL"
            " AND type IN ('checkin', 'checkout', 'transfer', 'stay_type') ORDER BY seq")):
        latest[(pid, device)] = (seq, hlc, etype, shelter)
    rows = [{"device_id": device, "seq": seq, "person_id": pid, "kind": kind}
            for (pid, device), (seq, kind) in sorted(words_for(persons, latest).items())]
    if rows:
        op.bulk_insert(sa.table('left_elsewhere', sa.column('device_id'), sa.column('seq'), sa.column('person_id'),
                                sa.column('kind')), rows)


def downgrade():
    op.drop_index(op.f('ix_left_elsewhere_person_id'), table_name='left_elsewhere')
    op.drop_index('ix_left_elsewhere_device', table_name='left_elsewhere')
    op.drop_table('left_elsewhere')
