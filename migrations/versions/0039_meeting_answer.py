"""An invited person's answer to an audit meeting: a buddy's "I can't come", recorded without moving it

Revision ID: 0039
Revises: 0033
Create Date: 2026-12-06 21:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0039'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('meeting_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.String(length=20), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_answer_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_meeting_answer_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_answer')),
    sa.UniqueConstraint('meeting_id', 'staff_id', name=op.f('uq_meeting_answer_meeting_id_staff_id'))
    )


def downgrade() -> None:
    op.drop_table('meeting_answer')
