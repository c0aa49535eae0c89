"""I can't make this time, on any meeting: the panel's sequence, an interview's interviewer, session apologies

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04 20:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_cycle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moderation_sequence', sa.Integer(), nullable=False,
                                      server_default=sa.text('0')))
    with op.batch_alter_table('make_a_difference', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interviewer_id', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_make_a_difference_interviewer_id_staff'), 'staff',
                                    ['interviewer_id'], ['id'])
    # A booked interview's interviewer was known only as the other person sent its request.
    op.execute(
        "UPDATE make_a_difference SET interviewer_id = ("
        " SELECT o.recipient_id FROM outbox_message o"
        " WHERE o.phase = 'learn' AND o.subject_ref = make_a_difference.reference"
        " AND o.calendar_method = 'REQUEST' AND o.recipient_id <> make_a_difference.practitioner_id"
        " ORDER BY o.id LIMIT 1)"
        " WHERE kind = 'interview' AND uid IS NOT NULL")
    op.create_table('session_apology',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['audit_cycle.id'], name=op.f('fk_session_apology_cycle_id_audit_cycle')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_session_apology_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_apology')),
    sa.UniqueConstraint('cycle_id', 'staff_id', name=op.f('uq_session_apology_cycle_id_staff_id'))
    )


def downgrade() -> None:
    op.drop_table('session_apology')
    with op.batch_alter_table('make_a_difference', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_make_a_difference_interviewer_id_staff'), type_='foreignkey')
        batch_op.drop_column('interviewer_id')
    with op.batch_alter_table('audit_cycle', schema=None) as batch_op:
        batch_op.drop_column('moderation_sequence')
