"""a supervision gap the records suggest, confirmed or dismissed by the auditor

Revision ID: 0019
Revises: 0020
Create Date: 2026-12-04 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('supervision_gap',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('audit_id', sa.Integer(), nullable=False),
    sa.Column('since', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('suspected', 'confirmed', 'dismissed', 'raised_automatically',
                                name='supervision_gap_status', native_enum=False, create_constraint=True),
              nullable=False),
    sa.Column('found_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decide_by', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['audit_id'], ['audit.id'], name=op.f('fk_supervision_gap_audit_id_audit')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff.id'], name=op.f('fk_supervision_gap_decided_by_id_staff')),
    sa.ForeignKeyConstraint(['response_id'], ['immediate_response.id'],
                            name=op.f('fk_supervision_gap_response_id_immediate_response')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_gap')),
    sa.UniqueConstraint('audit_id', name=op.f('uq_supervision_gap_audit_id'))
    )
    with op.batch_alter_table('supervision_gap', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_gap_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('supervision_gap', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_gap_status'))
    op.drop_table('supervision_gap')
