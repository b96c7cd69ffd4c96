"""persons.family_code as long as a family code may be (evac.events.FAMILY_CODE_LEN: 4 to 32)

Revision ID: 0015_family_code_len
Revises: 0014_identity_corrected
Create Date: 2026-11-25 18:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0015_family_code_len'
down_revision = '0014_identity_corrected'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.alter_column('family_code', existing_type=sa.String(length=16), type_=sa.String(length=32),
                              existing_nullable=False, existing_server_default='')


def downgrade():
    # A code longer than 16 would not fit back: it is cut, and such a consent then needs HQ's review.
    op.execute("UPDATE persons SET family_code = substr(family_code, 1, 16) WHERE length(family_code) > 16")
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.alter_column('family_code', existing_type=sa.String(length=32), type_=sa.String(length=16),
                              existing_nullable=False, existing_server_default='')
