"""the access log: who saw children's names in the console, and every export, by case id

Revision ID: 0037
Revises: 0039
Create Date: 2026-12-05 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0037'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('access_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('page', sa.String(length=80), nullable=False),
    sa.Column('query', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_access_log_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log'))
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_log_staff_id'), ['staff_id'], unique=False)
    op.create_table('access_log_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['access_log.id'], name=op.f('fk_access_log_record_entry_id_access_log')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log_record'))
    )
    with op.batch_alter_table('access_log_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_log_record_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_log_record_entry_id'), ['entry_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('access_log_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_log_record_entry_id'))
        batch_op.drop_index(batch_op.f('ix_access_log_record_case_id'))
    op.drop_table('access_log_record')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_log_staff_id'))
        batch_op.drop_index(batch_op.f('ix_access_log_at'))
    op.drop_table('access_log')
