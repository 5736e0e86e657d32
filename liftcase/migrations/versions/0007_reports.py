"""stored reports

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stored_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=True),
    sa.Column('scope_label', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=80), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=160), nullable=True),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('created_at', infra.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_reports')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_stored_reports_dedupe_key'))
    )
    op.create_index(op.f('ix_stored_reports_created_at'), 'stored_reports', ['created_at'], unique=False)
    op.create_index(op.f('ix_stored_reports_district_code'), 'stored_reports', ['district_code'], unique=False)
    op.create_index('ix_stored_reports_kind_period', 'stored_reports', ['kind', 'period_start'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_stored_reports_kind_period', table_name='stored_reports')
    op.drop_index(op.f('ix_stored_reports_district_code'), table_name='stored_reports')
    op.drop_index(op.f('ix_stored_reports_created_at'), table_name='stored_reports')
    op.drop_table('stored_reports')
