"""kana, address and household each with their own order; order texts with a space separator; inquiries by person

A person's kana, address and household are those of the latest event that gave one, whatever order
events arrive in: each needs the order of the event it came from (persons.kana_order, address_order,
household_order).  Backfilled from info_order where the value is there: the event that set it then
was the latest HQ had taken.

evac.events.order_key now separates clock, kiosk id and sequence with a space, not "|": "|" sorts
after every kiosk-id character, so "dev-1" sorted after "dev-10" at equal clocks, unlike the events'
own order.  Every stored order text is rewritten (ids hold neither character).

inquiries.person_id gets an index: a merge of two persons re-points the inquiries about the merged one.

Revision ID: 0016_field_orders
Revises: 0015_family_code_len
Create Date: 2026-11-25 20:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0016_field_orders'
down_revision = '0015_family_code_len'
branch_labels = None
depends_on = None

# Every column that holds evac.events.order_key text.
ORDER_COLUMNS = {
    'persons': ('info_order', 'loc_order', 'needs_order', 'status_order', 'consent_order', 'contact_order'),
    'shelters': ('opened_order', 'full_order'),
    'ic_links': ('link_order',),
}
NEW_ORDERS = {'kana_order': 'name_kana', 'address_order': 'address', 'household_order': 'household_id'}


def _separator(old, new):
    for table, columns in ORDER_COLUMNS.items():
        op.execute(f"UPDATE {table} SET " + ", ".join(f"{c} = replace({c}, '{old}', '{new}')" for c in columns))


def upgrade():
    _separator('|', ' ')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        for column in NEW_ORDERS:
            batch_op.add_column(sa.Column(column, sa.String(length=100), nullable=False, server_default=''))
    for column, value in NEW_ORDERS.items():
        op.execute(f"UPDATE persons SET {column} = info_order WHERE {value} != ''")
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inquiries_person_id'), ['person_id'], unique=False)


def downgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inquiries_person_id'))
    with op.batch_alter_table('persons', schema=None) as batch_op:
        for column in NEW_ORDERS:
            batch_op.drop_column(column)
    _separator(' ', '|')
