"""inspection results: the institutes that send them (with derived secrets), the reports received,
and the nonconformities of rectification cases tracked item by item

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inspection_sources',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('secret_salt', sa.String(length=64), nullable=False),
        sa.Column('secret_check', sa.String(length=64), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', infra.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['organisation_id'], ['organisations.id'], name=op.f('fk_inspection_sources_organisation_id_organisations')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_sources')),
        sa.UniqueConstraint('name', name=op.f('uq_inspection_sources_name')),
    )
    op.create_index(
        op.f('ix_inspection_sources_organisation_id'), 'inspection_sources', ['organisation_id'], unique=False
    )
    op.create_table(
        'inspection_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=120), nullable=False),
        sa.Column('report_no', sa.String(length=60), nullable=False),
        sa.Column('register_code', sa.String(length=32), nullable=False),
        sa.Column('elevator_id', sa.Integer(), nullable=True),
        sa.Column('equipment_id', sa.Integer(), nullable=True),
        sa.Column('inspected_on', sa.Date(), nullable=False),
        sa.Column('conclusion', sa.String(length=30), nullable=False),
        sa.Column('next_due', sa.Date(), nullable=True),
        sa.Column('nonconformities', sa.JSON(), nullable=False),
        sa.Column('via', sa.String(length=10), nullable=False),
        sa.Column('outcome', sa.String(length=30), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('received_at', infra.db.UTCDateTime(), nullable=False),
        sa.Column('received_by', sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_inspection_reports_case_id_cases')),
        sa.ForeignKeyConstraint(
            ['elevator_id'], ['elevators.id'], name=op.f('fk_inspection_reports_elevator_id_elevators')
        ),
        sa.ForeignKeyConstraint(
            ['equipment_id'], ['equipment.id'], name=op.f('fk_inspection_reports_equipment_id_equipment')
        ),
        sa.ForeignKeyConstraint(
            ['source_id'], ['inspection_sources.id'], name=op.f('fk_inspection_reports_source_id_inspection_sources')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_reports')),
        sa.UniqueConstraint('source_id', 'idempotency_key', name=op.f('uq_inspection_reports_source_id')),
    )
    for column in ('case_id', 'elevator_id', 'equipment_id', 'register_code', 'source_id'):
        op.create_index(op.f(f'ix_inspection_reports_{column}'), 'inspection_reports', [column], unique=False)
    op.create_table(
        'rectification_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('origin', sa.String(length=160), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=False),
        sa.Column('severity', sa.String(length=2), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('review_note', sa.String(length=500), nullable=True),
        sa.Column('reviewed_by', sa.String(length=60), nullable=True),
        sa.Column('reviewed_at', infra.db.UTCDateTime(), nullable=True),
        sa.Column('updated_at', infra.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_rectification_items_case_id_cases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_items')),
        sa.UniqueConstraint('case_id', 'position', name=op.f('uq_rectification_items_case_id')),
    )
    op.create_index(op.f('ix_rectification_items_case_id'), 'rectification_items', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_rectification_items_case_id'), table_name='rectification_items')
    op.drop_table('rectification_items')
    for column in ('case_id', 'elevator_id', 'equipment_id', 'register_code', 'source_id'):
        op.drop_index(op.f(f'ix_inspection_reports_{column}'), table_name='inspection_reports')
    op.drop_table('inspection_reports')
    op.drop_index(op.f('ix_inspection_sources_organisation_id'), table_name='inspection_sources')
    op.drop_table('inspection_sources')
