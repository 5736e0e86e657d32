"""attachments re-encoded flag; dead letters' sizes

Revision ID: 0011
Revises: 0009 (to be 0010 once 0010_sessions is merged)
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
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
