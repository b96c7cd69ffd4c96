"""HQ settings (the disaster in progress), imported hazard layers, index of persons with needs

Revision ID: 0009_map
Revises: 0008_self_reports
Create Date: 2026-11-25 15:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0009_map'
down_revision = '0008_self_reports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hq_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_hq_settings'))
    )
    op.create_table('hazard_layers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('disasters', sa.String(length=200), nullable=False),
    sa.Column('credit', sa.String(length=300), nullable=False),
    sa.Column('source_name', sa.String(length=300), nullable=False),
    sa.Column('geojson', sa.Text(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hazard_layers'))
    )
    # Partial: only persons with needs, counted per shelter by the map and the dashboard.
    op.create_index('ix_persons_needs', 'persons', ['shelter_id', 'needs', 'state'], unique=False,
                    sqlite_where=sa.text("needs != ''"), postgresql_where=sa.text("needs != ''"))


def downgrade():
    op.drop_index('ix_persons_needs', table_name='persons')
    op.drop_table('hazard_layers')
    op.drop_table('hq_settings')
