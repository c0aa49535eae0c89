"""the QA manager's executive summary of a month's report, replacing the one drafted from the figures

Revision ID: 0023
Revises: 0019
Create Date: 2026-12-03 15:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place, not by batch: on SQLite a batch copies the table and drops the old one, which the
    # audits referring to their cycle forbid. So the staff id is a plain column; `authorise` checks it.
    op.add_column('audit_cycle', sa.Column('report_summary', sa.Text(), nullable=True))
    op.add_column('audit_cycle', sa.Column('report_summary_by', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_cycle', schema=None) as batch_op:
        batch_op.drop_column('report_summary_by')
        batch_op.drop_column('report_summary')
