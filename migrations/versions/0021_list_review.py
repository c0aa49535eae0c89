"""a monthly list is reviewed by the QA team before its notices go

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-03 15:20:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Lists drawn before this revision were released at once, so their cycles stay released (no window).
    with op.batch_alter_table('audit_cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('list_review_closes_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('list_approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('list_approved_by_id', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_audit_cycle_list_approved_by_id_staff'), 'staff',
                                    ['list_approved_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('audit_cycle', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_cycle_list_approved_by_id_staff'), type_='foreignkey')
        batch_op.drop_column('list_approved_by_id')
        batch_op.drop_column('list_approved_at')
        batch_op.drop_column('list_review_closes_at')
