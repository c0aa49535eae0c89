"""draw requests: a deep dive, dip sample or monthly theme asked for, kept out of Prefect's parameters

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 11:38:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('draw_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('monthly', 'deep_dive', 'dip_sample', name='draw_request_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('theme', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('cohort', sa.Enum('early_help', 'child_in_need', 'child_protection', 'cared_for', 'care_experienced', 'youth_justice', name='draw_request_cohort', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('team', sa.String(length=120), nullable=True),
    sa.Column('domains', sa.String(length=400), nullable=True),
    sa.Column('requested_by_id', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['cycle_id'], ['audit_cycle.id'], name=op.f('fk_draw_request_cycle_id_audit_cycle')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['staff.id'], name=op.f('fk_draw_request_requested_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draw_request'))
    )


def downgrade() -> None:
    op.drop_table('draw_request')
