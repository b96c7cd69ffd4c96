"""persons.identity_corrected: a corrected person's identity is re-derived from all they said

Revision ID: 0014_identity_corrected
Revises: 0013_no_persons_shelter_index
Create Date: 2026-11-25 18:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0014_identity_corrected'
down_revision = '0013_no_persons_shelter_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity_corrected', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute("UPDATE persons SET identity_corrected = true WHERE id IN "
               "(SELECT person_id FROM events WHERE type = 'correction' AND person_id IS NOT NULL)")


def downgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('identity_corrected')
