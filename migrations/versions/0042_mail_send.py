"""The sends a mailbox's rate limits count (mail_send)

Revision ID: 0042
Revises: 0036
Create Date: 2026-12-07 23:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0042'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mail_send',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sa.String(length=254), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_message.id'],
                            name=op.f('fk_mail_send_outbox_message_id_outbox_message'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_send'))
    )
    op.create_index('ix_mail_send_mailbox_sent_at', 'mail_send', ['mailbox', 'sent_at'])


def downgrade() -> None:
    op.drop_index('ix_mail_send_mailbox_sent_at', table_name='mail_send')
    op.drop_table('mail_send')
