"""a meeting room or online-meeting link per member of staff and per team, from the staff import

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-03 12:40:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Adding a nullable column needs no copy of the table, so SQLite alters it in place.
    with op.batch_alter_table('staff', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('meeting_location', sa.String(length=500), nullable=True))
    with op.batch_alter_table('team', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('meeting_location', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_column('meeting_location')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('meeting_location')
