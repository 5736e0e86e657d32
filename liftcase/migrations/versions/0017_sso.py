"""single sign-on: users' identities at the city platform, sessions started through it

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('user_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('created_at', infra.db.UTCDateTime(), nullable=False),
    sa.Column('last_sign_in_at', infra.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_identities_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_identities')),
    sa.UniqueConstraint('issuer', 'subject', name=op.f('uq_user_identities_issuer'))
    )
    op.create_index(op.f('ix_user_identities_user_id'), 'user_identities', ['user_id'], unique=False)
    op.create_table('sso_sessions',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('identity_id', sa.Integer(), nullable=False),
    sa.Column('id_token', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['user_identities.id'],
                            name=op.f('fk_sso_sessions_identity_id_user_identities')),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_sso_sessions_session_id_sessions')),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_sso_sessions'))
    )
    op.create_index(op.f('ix_sso_sessions_identity_id'), 'sso_sessions', ['identity_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_sso_sessions_identity_id'), table_name='sso_sessions')
    op.drop_table('sso_sessions')
    op.drop_index(op.f('ix_user_identities_user_id'), table_name='user_identities')
    op.drop_table('user_identities')
