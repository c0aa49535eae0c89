"""an audit keeps who and where the child's case was: key worker, team, service, cohort; backfilled from the child

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:20:08.352482
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COHORTS = ('early_help', 'child_in_need', 'child_protection', 'cared_for', 'care_experienced', 'youth_justice')


def upgrade() -> None:
    # Added empty, filled from each child as it is now (the best record there is of earlier audits), then required.
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_worker_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('service_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cohort', sa.Enum(*COHORTS, name='audit_cohort', native_enum=False,
                                                        create_constraint=True), nullable=True))
    op.execute("""
        UPDATE audit SET
            key_worker_id = (SELECT child.key_worker_id FROM child WHERE child.id = audit.child_id),
            team_id = (SELECT child.team_id FROM child WHERE child.id = audit.child_id),
            service_id = (SELECT team.service_id FROM child JOIN team ON team.id = child.team_id
                          WHERE child.id = audit.child_id),
            cohort = (SELECT child.cohort FROM child WHERE child.id = audit.child_id)""")
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.alter_column('team_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('service_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('cohort', existing_type=sa.Enum(*COHORTS, name='audit_cohort', native_enum=False,
                                                              create_constraint=True), nullable=False)
        batch_op.create_index(batch_op.f('ix_audit_key_worker_id'), ['key_worker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_team_id'), ['team_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_audit_team_id_team'), 'team', ['team_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_audit_service_id_service'), 'service', ['service_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_audit_key_worker_id_staff'), 'staff', ['key_worker_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_audit_key_worker_id_staff'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_audit_service_id_service'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_audit_team_id_team'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_audit_team_id'))
        batch_op.drop_index(batch_op.f('ix_audit_key_worker_id'))
        # SQLite's copy of the table would keep the cohort's CHECK and fail without its column.
        batch_op.drop_constraint(batch_op.f('ck_audit_audit_cohort'), type_='check')
        batch_op.drop_column('cohort')
        batch_op.drop_column('service_id')
        batch_op.drop_column('team_id')
        batch_op.drop_column('key_worker_id')
