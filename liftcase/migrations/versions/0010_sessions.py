"""sessions: server-side sessions; API tokens that expire; sign-in events by address (the throttle)

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', infra.db.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', infra.db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', infra.db.UTCDateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=20), nullable=True),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sessions_token_hash'))
    )
    op.create_index(op.f('ix_sessions_user_id'), 'sessions', ['user_id'], unique=False)
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', infra.db.UTCDateTime(), nullable=True))
    op.create_index(op.f('ix_sign_in_events_remote_addr'), 'sign_in_events', ['remote_addr'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sign_in_events_remote_addr'), table_name='sign_in_events')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    op.drop_index(op.f('ix_sessions_user_id'), table_name='sessions')
    op.drop_table('sessions')
