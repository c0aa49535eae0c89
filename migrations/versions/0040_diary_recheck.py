"""A meeting booked while a diary could not be read, to be checked again on the next booking run; a meeting's
Teams join link

Revision ID: 0040
Revises: 0038
Create Date: 2026-12-06 21:35:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0040'
down_revision = '0038'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('diary_recheck',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('noted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_diary_recheck_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_diary_recheck_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_diary_recheck')),
    sa.UniqueConstraint('meeting_id', 'staff_id', name=op.f('uq_diary_recheck_meeting_id_staff_id'))
    )
    op.create_index(op.f('ix_diary_recheck_meeting_id'), 'diary_recheck', ['meeting_id'], unique=False)
    with op.batch_alter_table('meeting') as batch:
        batch.add_column(sa.Column('join_url', sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('meeting') as batch:
        batch.drop_column('join_url')
    op.drop_index(op.f('ix_diary_recheck_meeting_id'), table_name='diary_recheck')
    op.drop_table('diary_recheck')
