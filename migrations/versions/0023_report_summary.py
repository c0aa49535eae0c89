"""the QA manager's executive summary of a month's report, replacing the one drafted from the figures

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-03 15:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_summary', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('report_summary_by', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_audit_cycle_report_summary_by_staff'), 'staff',
                                    ['report_summary_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('audit_cycle', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_cycle_report_summary_by_staff'), type_='foreignkey')
        batch_op.drop_column('report_summary_by')
        batch_op.drop_column('report_summary')
