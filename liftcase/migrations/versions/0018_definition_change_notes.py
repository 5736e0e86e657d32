"""process versions keep the analyst's change note and the changes against the version before

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_definitions') as batch:
        batch.add_column(sa.Column('change_note', sa.Text(), server_default='', nullable=False))
        batch.add_column(sa.Column('changes', sa.JSON(), nullable=True))
    op.execute("UPDATE process_definitions SET changes = '[]'")
    with op.batch_alter_table('process_definitions') as batch:
        batch.alter_column('changes', existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('process_definitions') as batch:
        batch.drop_column('changes')
        batch.drop_column('change_note')
