"""Invite replies read back from the QA mailbox: each message once (reply_message), answers' source

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06 21:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None

OUTCOMES = ('recorded', 'rebooked', 'handed_over', 'counter_accepted', 'counter_declined', 'stale', 'held',
            'unknown_meeting', 'not_a_reply', 'unreadable', 'duplicate')


def upgrade() -> None:
    op.create_table('reply_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sa.String(length=600), nullable=False),
    sa.Column('uid_validity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('message_id', sa.String(length=998), nullable=True),
    sa.Column('outcome', sa.Enum(*OUTCOMES, name='reply_outcome', native_enum=False, create_constraint=True,
                                 length=16), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=True),
    sa.Column('meeting_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.String(length=64), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=True),
    sa.Column('dtstamp', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_reply_message_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_reply_message_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_message')),
    sa.UniqueConstraint('mailbox', 'uid_validity', 'uid', name=op.f('uq_reply_message_mailbox_uid_validity_uid'))
    )
    op.create_index(op.f('ix_reply_message_message_id'), 'reply_message', ['message_id'])
    op.create_index(op.f('ix_reply_message_meeting_id'), 'reply_message', ['meeting_id'])
    with op.batch_alter_table('meeting_answer') as batch:
        batch.add_column(sa.Column('source', sa.String(length=20), server_default='link', nullable=False))
    # A DECLINECOUNTER (14 letters) is sent as a calendar method: PostgreSQL refused it in 10.
    with op.batch_alter_table('outbox_message') as batch:
        batch.alter_column('calendar_method', existing_type=sa.String(length=10), type_=sa.String(length=20),
                           existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('outbox_message') as batch:
        batch.alter_column('calendar_method', existing_type=sa.String(length=20), type_=sa.String(length=10),
                           existing_nullable=True)
    with op.batch_alter_table('meeting_answer') as batch:
        batch.drop_column('source')
    op.drop_index(op.f('ix_reply_message_meeting_id'), table_name='reply_message')
    op.drop_index(op.f('ix_reply_message_message_id'), table_name='reply_message')
    op.drop_table('reply_message')
