"""who issued each edition of a month's report, and why a reissue was made

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-05 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('report_edition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issued_by_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_report_edition_issued_by_id_staff'), 'staff',
                                    ['issued_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('report_edition', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_report_edition_issued_by_id_staff'), type_='foreignkey')
        batch_op.drop_column('reason')
        batch_op.drop_column('issued_by_id')
