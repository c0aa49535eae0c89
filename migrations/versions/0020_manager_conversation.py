"""the auditor's conversation with the team manager is a kind of meeting

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-03 13:30:00.000000
"""
from alembic import op


revision = '0020'
down_revision = '0018'
branch_labels = None
depends_on = None

KINDS = ('learning_conversation', 'family_call', 'young_person_call', 'iro_conversation')


def _check(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def upgrade() -> None:
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_meeting_meeting_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_meeting_meeting_kind'), _check(KINDS + ('manager_conversation',)))


def downgrade() -> None:
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_meeting_meeting_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_meeting_meeting_kind'), _check(KINDS))
