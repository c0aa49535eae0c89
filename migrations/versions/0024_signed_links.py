"""signed links: each link an email carries, when it expires, was used or revoked; the secret that signs them

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 16:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('link',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('subject_ref', sa.String(length=80), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('issue_key', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by_id', sa.String(length=64), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_link_staff_id_staff')),
    sa.ForeignKeyConstraint(['used_by_id'], ['staff.id'], name=op.f('fk_link_used_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link')),
    sa.UniqueConstraint('issue_key', name=op.f('uq_link_issue_key'))
    )
    with op.batch_alter_table('link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_link_subject_ref'), ['subject_ref'], unique=False)
    op.create_table('link_secret',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_link_secret_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_secret'))
    )


def downgrade() -> None:
    op.drop_table('link_secret')
    with op.batch_alter_table('link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_subject_ref'))
        batch_op.drop_index(batch_op.f('ix_link_staff_id'))
    op.drop_table('link')
