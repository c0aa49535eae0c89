"""the items each digest told its recipient about, so an item goes to a person once

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest_id', sa.Integer(), nullable=False),
    sa.Column('item_key', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['digest_id'], ['outbox_message.id'], name=op.f('fk_outbox_item_digest_id_outbox_message')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_item')),
    sa.UniqueConstraint('item_key', name=op.f('uq_outbox_item_item_key'))
    )


def downgrade() -> None:
    op.drop_table('outbox_item')
