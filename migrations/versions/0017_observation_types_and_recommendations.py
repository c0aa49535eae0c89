"""what an observation saw, and observations recommended from an audit or a Personal Development Review

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 12:45:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The column first, as plain text (SQLite adds it in place), then its check as the model names it.
    with op.batch_alter_table('observation', schema=None, recreate='never') as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=15), nullable=True))
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_observation_observation_type'),
            "kind IN ('family_meeting', 'home_visit', 'supervision', 'meeting_chaired')")
    op.create_table('observation_recommendation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Enum('audit', 'pdr', name='recommended_from', native_enum=False, create_constraint=True),
              nullable=False),
    sa.Column('audit_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recommended_by_id', sa.String(length=64), nullable=False),
    sa.Column('recommended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('observation_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['audit_id'], ['audit.id'], name=op.f('fk_observation_recommendation_audit_id_audit')),
    sa.ForeignKeyConstraint(['observation_id'], ['observation.id'],
                            name=op.f('fk_observation_recommendation_observation_id_observation')),
    sa.ForeignKeyConstraint(['practitioner_id'], ['staff.id'],
                            name=op.f('fk_observation_recommendation_practitioner_id_staff')),
    sa.ForeignKeyConstraint(['recommended_by_id'], ['staff.id'],
                            name=op.f('fk_observation_recommendation_recommended_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observation_recommendation'))
    )
    with op.batch_alter_table('observation_recommendation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_observation_recommendation_practitioner_id'), ['practitioner_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('observation_recommendation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_observation_recommendation_practitioner_id'))
    op.drop_table('observation_recommendation')
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_observation_observation_type'), type_='check')
        batch_op.drop_column('kind')
