"""an assistant director's agreement of a good or better moderation outcome

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('moderation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('director_agreed_by_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('director_agreed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_moderation_director_agreed_by_id_staff'), 'staff',
                                    ['director_agreed_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('moderation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_moderation_director_agreed_by_id_staff'), type_='foreignkey')
        batch_op.drop_column('director_agreed_at')
        batch_op.drop_column('director_agreed_by_id')
