"""the team manager's record that an audit was discussed at the practitioner's supervision

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 13:05:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supervision_discussed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('supervision_discussed_by_id', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_audit_supervision_discussed_by_id_staff'), 'staff',
                                    ['supervision_discussed_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_supervision_discussed_by_id_staff'), type_='foreignkey')
        batch_op.drop_column('supervision_discussed_by_id')
        batch_op.drop_column('supervision_discussed_at')
