"""shelters declared full by their staff; a person's contact from the paper form

Revision ID: 0010_full_and_contact
Revises: 0009_map
Create Date: 2026-11-25 15:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010_full_and_contact'
down_revision = '0009_map'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shelters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declared_full', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('full_order', sa.String(length=100), nullable=False, server_default=''))
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_order', sa.String(length=100), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('contact_order')
    with op.batch_alter_table('shelters', schema=None) as batch_op:
        batch_op.drop_column('full_order')
        batch_op.drop_column('declared_full')
