"""audit form on the web: a draft saved on the audit, the whole form kept with its submission, the buddy's review

Revision ID: 0028
Revises: 0024
Create Date: 2026-12-04 01:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_draft', sa.JSON(), nullable=True))
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form', sa.JSON(), nullable=True))
    op.create_table('buddy_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.String(length=64), nullable=False),
    sa.Column('agreed', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reviewer_id'], ['staff.id'], name=op.f('fk_buddy_review_reviewer_id_staff')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_buddy_review_submission_id_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buddy_review')),
    sa.UniqueConstraint('submission_id', 'version', name=op.f('uq_buddy_review_submission_id_version'))
    )


def downgrade() -> None:
    op.drop_table('buddy_review')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('form')
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_column('form_draft')
