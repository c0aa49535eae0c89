"""the QA console's sign-in: sessions kept on the server, and each person's id at the council's sign-in service

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-04 19:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_session_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_session'))
    )
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_session_staff_id'), ['staff_id'], unique=False)
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('oidc_subject', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_staff_oidc_subject'), ['oidc_subject'])


def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_staff_oidc_subject'), type_='unique')
        batch_op.drop_column('oidc_subject')
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_session_staff_id'))
    op.drop_table('staff_session')
