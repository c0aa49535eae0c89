"""append-only audit trail

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 07:20:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

REFUSAL = 'trail_entry is append-only: UPDATE and DELETE are refused'


def upgrade() -> None:
    op.create_table('trail_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('action', sa.Enum('insert', 'update', 'delete', name='trail_action', native_enum=False,
                                create_constraint=True, length=6), nullable=False),
    sa.Column('entity', sa.String(length=60), nullable=False),
    sa.Column('entity_id', sa.String(length=120), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trail_entry'))
    )
    with op.batch_alter_table('trail_entry', schema=None) as batch_op:
        batch_op.create_index('ix_trail_entry_entity', ['entity', 'entity_id'], unique=False)

    # The refusal lives in the database, so no code path (nor a hand-typed SQL session) can rewrite history.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION trail_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'insufficient_privilege';
            END;
            $$""")
        op.execute("""
            CREATE TRIGGER trail_entry_append_only BEFORE UPDATE OR DELETE ON trail_entry
            FOR EACH ROW EXECUTE FUNCTION trail_entry_refuse_change()""")
    else:
        for verb in ('UPDATE', 'DELETE'):
            op.execute(f"""
                CREATE TRIGGER trail_entry_no_{verb.lower()} BEFORE {verb} ON trail_entry
                BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS trail_entry_append_only ON trail_entry')
        op.execute('DROP FUNCTION IF EXISTS trail_entry_refuse_change()')
    else:
        op.execute('DROP TRIGGER IF EXISTS trail_entry_no_update')
        op.execute('DROP TRIGGER IF EXISTS trail_entry_no_delete')
    with op.batch_alter_table('trail_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_trail_entry_entity')

    op.drop_table('trail_entry')
