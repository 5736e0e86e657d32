"""QR calls, AI events, snapshots

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ai_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', infra.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_sources')),
    sa.UniqueConstraint('name', name=op.f('uq_ai_sources_name'))
    )
    op.create_table('ai_cameras',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('camera_id', sa.String(length=80), nullable=False),
    sa.Column('elevator_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['elevator_id'], ['elevators.id'], name=op.f('fk_ai_cameras_elevator_id_elevators')),
    sa.ForeignKeyConstraint(['source_id'], ['ai_sources.id'], name=op.f('fk_ai_cameras_source_id_ai_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ai_cameras')),
    sa.UniqueConstraint('source_id', 'camera_id', name=op.f('uq_ai_cameras_source_id'))
    )
    op.create_index(op.f('ix_ai_cameras_elevator_id'), 'ai_cameras', ['elevator_id'], unique=False)
    op.create_index(op.f('ix_ai_cameras_source_id'), 'ai_cameras', ['source_id'], unique=False)
    op.create_table('qr_tracking_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('elevator_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('joined', sa.Boolean(), nullable=False),
    sa.Column('created_at', infra.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_qr_tracking_links_case_id_cases')),
    sa.ForeignKeyConstraint(['elevator_id'], ['elevators.id'], name=op.f('fk_qr_tracking_links_elevator_id_elevators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qr_tracking_links')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_qr_tracking_links_token_sha256'))
    )
    op.create_index(op.f('ix_qr_tracking_links_case_id'), 'qr_tracking_links', ['case_id'], unique=False)
    op.create_index(op.f('ix_qr_tracking_links_elevator_id'), 'qr_tracking_links', ['elevator_id'], unique=False)
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_index(op.f('ix_qr_tracking_links_elevator_id'), table_name='qr_tracking_links')
    op.drop_index(op.f('ix_qr_tracking_links_case_id'), table_name='qr_tracking_links')
    op.drop_table('qr_tracking_links')
    op.drop_index(op.f('ix_ai_cameras_source_id'), table_name='ai_cameras')
    op.drop_index(op.f('ix_ai_cameras_elevator_id'), table_name='ai_cameras')
    op.drop_table('ai_cameras')
    op.drop_table('ai_sources')
    # ### end Alembic commands ###
