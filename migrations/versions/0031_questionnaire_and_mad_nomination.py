"""the new-auditor questionnaire's answers; a Make a Difference nomination made from an audit

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('questionnaire_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('audit_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['audit_id'], ['audit.id'], name=op.f('fk_questionnaire_response_audit_id_audit')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_questionnaire_response_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaire_response')),
    sa.UniqueConstraint('staff_id', name=op.f('uq_questionnaire_response_staff_id'))
    )
    with op.batch_alter_table('make_a_difference', schema=None) as batch_op:
        batch_op.add_column(sa.Column('from_audit_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_make_a_difference_from_audit_id_audit'), 'audit',
                                    ['from_audit_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_make_a_difference_from_audit_id'), ['from_audit_id'])


def downgrade() -> None:
    with op.batch_alter_table('make_a_difference', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_make_a_difference_from_audit_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_make_a_difference_from_audit_id_audit'), type_='foreignkey')
        batch_op.drop_column('from_audit_id')
    op.drop_table('questionnaire_response')
