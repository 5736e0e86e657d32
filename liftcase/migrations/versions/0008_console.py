"""console: saved filters

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_saved_filters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('query', sa.JSON(), nullable=False),
    sa.Column('created_at', infra.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_console_saved_filters_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_saved_filters')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_console_saved_filters_user_id'))
    )
    op.create_index(op.f('ix_console_saved_filters_user_id'), 'console_saved_filters', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_console_saved_filters_user_id'), table_name='console_saved_filters')
    op.drop_table('console_saved_filters')
