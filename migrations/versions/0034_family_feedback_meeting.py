"""each family feedback row links to the call booked for it

Revision ID: 0034
Revises: 0031
Create Date: 2026-12-05 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0034'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('family_feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_family_feedback_meeting_id_meeting'), 'meeting',
                                    ['meeting_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('family_feedback', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_family_feedback_meeting_id_meeting'), type_='foreignkey')
        batch_op.drop_column('meeting_id')
