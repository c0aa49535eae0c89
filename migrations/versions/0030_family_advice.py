"""how to reach the family: the key worker's advice per audit and per family contact

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-04 02:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('family_advice',
    sa.Column('audit_id', sa.Integer(), nullable=False),
    sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('given_by_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['audit_id'], ['audit.id'], name=op.f('fk_family_advice_audit_id_audit')),
    sa.ForeignKeyConstraint(['given_by_id'], ['staff.id'], name=op.f('fk_family_advice_given_by_id_staff')),
    sa.PrimaryKeyConstraint('audit_id', name=op.f('pk_family_advice'))
    )
    op.create_table('contact_advice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('audit_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=60), nullable=True),
    sa.Column('interpreter_needed', sa.Boolean(), nullable=False),
    sa.Column('best_times', sa.String(length=200), nullable=True),
    sa.Column('do_not_contact_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['audit_id'], ['family_advice.audit_id'],
                            name=op.f('fk_contact_advice_audit_id_family_advice')),
    sa.ForeignKeyConstraint(['contact_id'], ['family_contact.id'],
                            name=op.f('fk_contact_advice_contact_id_family_contact')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_advice')),
    sa.UniqueConstraint('audit_id', 'contact_id', name=op.f('uq_contact_advice_audit_id_contact_id'))
    )
    with op.batch_alter_table('contact_advice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_advice_audit_id'), ['audit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('contact_advice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_advice_audit_id'))
    op.drop_table('contact_advice')
    op.drop_table('family_advice')
