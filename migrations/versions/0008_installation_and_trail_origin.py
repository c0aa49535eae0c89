"""the installation row (a simulation or a council's real database); the trail records the account and host

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02 18:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('installation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('simulation', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_installation_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_installation'))
    )
    # Adding columns is not an UPDATE of any row, so the trail's append-only triggers allow it.
    with op.batch_alter_table('trail_entry', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('os_account', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('host', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('trail_entry', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('host')
        batch_op.drop_column('os_account')
    op.drop_table('installation')
