"""admin audit log (hash-chained, append-only); attachments re-encoded flag; dead letters' sizes

Revision ID: 0011
Revises: 0009 (to be 0010 once 0010_sessions is merged)
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
# The database itself refuses to change or remove an entry: only INSERT reaches admin_audit.
PG_APPEND_ONLY = [
    """CREATE FUNCTION admin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'admin_audit is append-only'; END $$""",
    """CREATE TRIGGER admin_audit_append_only BEFORE UPDATE OR DELETE ON admin_audit
       FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only()""",
    """CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON admin_audit
       FOR EACH STATEMENT EXECUTE FUNCTION admin_audit_append_only()""",
]
SQLITE_APPEND_ONLY = [
    """CREATE TRIGGER admin_audit_no_update BEFORE UPDATE ON admin_audit
       BEGIN SELECT RAISE(ABORT, 'admin_audit is append-only'); END""",
    """CREATE TRIGGER admin_audit_no_delete BEFORE DELETE ON admin_audit
       BEGIN SELECT RAISE(ABORT, 'admin_audit is append-only'); END""",
]


def upgrade() -> None:
    op.create_table('admin_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('at', infra.db.UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=60), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_audit')),
    sa.UniqueConstraint('seq', name=op.f('uq_admin_audit_seq'))
    )
    op.create_index(op.f('ix_admin_audit_kind'), 'admin_audit', ['kind'], unique=False)
    head = op.create_table('admin_audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_audit_head'))
    )
    op.bulk_insert(head, [{'id': 1, 'seq': 0, 'hash': GENESIS}])
    for statement in PG_APPEND_ONLY if op.get_bind().dialect.name == 'postgresql' else SQLITE_APPEND_ONLY:
        op.execute(statement)
    # Photos stored before now were kept as uploaded: they download rather than show inline.
    op.add_column('attachments', sa.Column('reencoded', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Dead letters keep their first 64 KB and the size that arrived; earlier rows were whole.
    op.add_column('ingest_dead_letters', sa.Column('raw_size', sa.Integer(), nullable=True))
    op.execute('UPDATE ingest_dead_letters SET raw_size = length(raw)')
    with op.batch_alter_table('ingest_dead_letters', schema=None) as batch_op:
        batch_op.alter_column('raw_size', existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('ingest_dead_letters', schema=None) as batch_op:
        batch_op.drop_column('raw_size')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_column('reencoded')
    op.drop_table('admin_audit_head')
    op.drop_index(op.f('ix_admin_audit_kind'), table_name='admin_audit')
    op.drop_table('admin_audit')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION admin_audit_append_only()')
