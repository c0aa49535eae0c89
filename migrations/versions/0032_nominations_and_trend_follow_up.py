"""a good-practice nomination says why; a trend flag keeps its service and its follow-up

Revision ID: 0032
Revises: 0035
Create Date: 2026-12-04 19:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0035'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nominations made before this revision gave no reason, and flags raised before it keep no service:
    # both stay empty, and only an assistant director or the principal social worker follows such a flag up.
    with op.batch_alter_table('nomination', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
    with op.batch_alter_table('trend_flag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('followed_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('followed_up_by_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('follow_up_contributed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('follow_up_outcome', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('follow_up_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('follow_up_recorded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_trend_flag_service_id_service'), 'service',
                                    ['service_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_trend_flag_followed_up_by_id_staff'), 'staff',
                                    ['followed_up_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('trend_flag', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_trend_flag_followed_up_by_id_staff'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_trend_flag_service_id_service'), type_='foreignkey')
        batch_op.drop_column('follow_up_recorded_at')
        batch_op.drop_column('follow_up_note')
        batch_op.drop_column('follow_up_outcome')
        batch_op.drop_column('follow_up_contributed')
        batch_op.drop_column('followed_up_by_id')
        batch_op.drop_column('followed_up_at')
        batch_op.drop_column('service_id')
    with op.batch_alter_table('nomination', schema=None) as batch_op:
        batch_op.drop_column('reason')
