"""shelters.opened_order under its marks: a check-in no longer re-opens a shelter its staff closed

Whether a shelter is open is now its staff's latest status record, whatever its order against check-ins, which
open only a shelter no status record has spoken of (hq_dashboard.merge.OPENED_BY_CHECKIN, OPENED_BY_STATUS).
The orders kept before carry no mark: each shelter's is decided again from its records, as the merge does.

Revision ID: 0037_closed_stays_closed
Revises: 0036_prereg_manage_hash
Create Date: 2026-11-28 00:40:00

"""
import json

from alembic import op
import sqlalchemy as sa

from evac.events import order_key


revision = '0037_closed_stays_closed'
down_revision = '0036_prereg_manage_hash'
branch_labels = None
depends_on = None

BY_CHECKIN, BY_STATUS = "c", "s"


def upgrade():
    conn = op.get_bind()
    latest: dict[str, tuple[str, bool]] = {}
    for sid, hlc, device_id, seq, etype, body in conn.execute(sa.text(
            "SELECT shelter_id, hlc, device_id, seq, type, body FROM events"
            " WHERE type IN ('checkin', 'shelter_status')")):
        if etype == "shelter_status":
            said = (BY_STATUS + order_key(hlc, device_id, seq), json.loads(body)["data"]["status"] != "closed")
        else:
            said = (BY_CHECKIN + order_key(hlc, device_id, seq), True)
        if sid not in latest or said[0] > latest[sid][0]:
            latest[sid] = said
    for sid, (order, is_open) in sorted(latest.items()):
        conn.execute(sa.text("UPDATE shelters SET opened = :open, opened_order = :order WHERE id = :id"),
                     {"open": is_open, "order": order, "id": sid})


def downgrade():
    # The orders without their marks, as the release before kept them (the state stays until the next record).
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE shelters SET opened_order = substr(opened_order, 2) WHERE opened_order <> ''"))
