"""person records imported from other people finders (PFIF 1.4)

Revision ID: 0006_pfif
Revises: 0005_safety
Create Date: 2026-11-25 16:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0006_pfif'
down_revision = '0005_safety'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pfif_records',
    sa.Column('person_record_id', sa.String(length=300), nullable=False),
    sa.Column('full_name', sa.String(length=300), nullable=False),
    sa.Column('sex', sa.String(length=8), nullable=False),
    sa.Column('date_of_birth', sa.String(length=10), nullable=False),
    sa.Column('home_city', sa.String(length=200), nullable=False),
    sa.Column('source_name', sa.String(length=200), nullable=False),
    sa.Column('source_date', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('person_record_id', name=op.f('pk_pfif_records'))
    )
    with op.batch_alter_table('pfif_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pfif_records_date_of_birth'), ['date_of_birth'], unique=False)


def downgrade():
    with op.batch_alter_table('pfif_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pfif_records_date_of_birth'))
    op.drop_table('pfif_records')
