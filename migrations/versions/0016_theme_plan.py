"""the year's plan of monthly audit themes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 13:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('planned_theme',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('theme', sa.String(length=200), nullable=False),
    sa.Column('revisit', sa.Boolean(), nullable=False),
    sa.Column('planned_by_id', sa.String(length=64), nullable=False),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['planned_by_id'], ['staff.id'], name=op.f('fk_planned_theme_planned_by_id_staff')),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_planned_theme'))
    )


def downgrade() -> None:
    op.drop_table('planned_theme')
