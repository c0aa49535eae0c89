"""deep dives and dip samples from the console: the form's one-time key, the Prefect flow run, a run's request

Revision ID: 0036
Revises: 0041
Create Date: 2026-12-06 21:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0036'
down_revision = '0041'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('draw_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('flow_run_id', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_draw_request_form_key'), ['form_key'])
    with op.batch_alter_table('phase_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_phase_run_request_id'), ['request_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_phase_run_request_id_draw_request'), 'draw_request',
                                    ['request_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('phase_run', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_phase_run_request_id_draw_request'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_phase_run_request_id'))
        batch_op.drop_column('request_id')
    with op.batch_alter_table('draw_request', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_draw_request_form_key'), type_='unique')
        batch_op.drop_column('flow_run_id')
        batch_op.drop_column('form_key')
