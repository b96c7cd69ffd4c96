"""inquiries.sought_sex: the sex of the person sought, when the inquirer gave it

It narrows the records only a name's reading could mean (a kana inquiry against a card's kanji-only
records born that day) at the queue and the release as when the inquiry came.  Inquiries made before
this release have none ('') and are narrowed by nothing, as before.

Revision ID: 0029_inquiry_sex
Revises: 0028_wall_display
Create Date: 2026-11-26 18:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0029_inquiry_sex'
down_revision = '0028_wall_display'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sought_sex', sa.String(length=8), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_column('sought_sex')
