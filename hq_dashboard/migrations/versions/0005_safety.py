"""safety inquiries: consent on persons, inquiries, audit log, staff users

Revision ID: 0005_safety
Revises: 0004_ic_links
Create Date: 2026-11-25 15:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005_safety'
down_revision = '0004_ic_links'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent', sa.String(length=8), nullable=False, server_default='none'))
        batch_op.add_column(sa.Column('family_code', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('consent_order', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('never_disclose', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('contact', sa.String(length=100), nullable=False, server_default=''))
    op.create_table('inquiries',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('access_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('inquirer_name', sa.String(length=100), nullable=False),
    sa.Column('inquirer_address', sa.String(length=200), nullable=False),
    sa.Column('inquirer_contact', sa.String(length=100), nullable=False),
    sa.Column('relationship', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('sought_name', sa.String(length=100), nullable=False),
    sa.Column('sought_birth_date', sa.String(length=10), nullable=False),
    sa.Column('sought_address', sa.String(length=200), nullable=False),
    sa.Column('family_code_given', sa.Boolean(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('reviewed_by', sa.String(length=64), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inquiries'))
    )
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inquiries_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiries_status'), ['status'], unique=False)
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('inquiry_id', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_inquiry_id'), ['inquiry_id'], unique=False)
    op.create_table('staff_users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_users_username'))
    )
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_persons_birth_date'), ['birth_date'], unique=False)


def downgrade():
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persons_birth_date'))
    op.drop_table('staff_users')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_inquiry_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
    op.drop_table('audit_log')
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inquiries_status'))
        batch_op.drop_index(batch_op.f('ix_inquiries_created_at'))
    op.drop_table('inquiries')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_column('contact')
        batch_op.drop_column('never_disclose')
        batch_op.drop_column('consent_order')
        batch_op.drop_column('family_code')
        batch_op.drop_column('consent')
