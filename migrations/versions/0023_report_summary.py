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
    # audits referring to their cycle forbid; SQLite takes a new column's REFERENCES clause in place instead.
    op.add_column('audit_cycle', sa.Column('report_summary', sa.Text(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE audit_cycle ADD COLUMN report_summary_by VARCHAR(64) REFERENCES staff (id)')
    else:
        op.add_column('audit_cycle', sa.Column('report_summary_by', sa.String(length=64), nullable=True))
        op.create_foreign_key(op.f('fk_audit_cycle_report_summary_by_staff'), 'audit_cycle', 'staff',
                              ['report_summary_by'], ['id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # In place too (SQLite 3.35+), for the same reason: no constraint names these columns.
        op.execute('ALTER TABLE audit_cycle DROP COLUMN report_summary_by')
        op.execute('ALTER TABLE audit_cycle DROP COLUMN report_summary')
        return
    op.drop_constraint(op.f('fk_audit_cycle_report_summary_by_staff'), 'audit_cycle', type_='foreignkey')
    op.drop_column('audit_cycle', 'report_summary_by')
    op.drop_column('audit_cycle', 'report_summary')
