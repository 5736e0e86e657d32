"""maintenance supervision: check-in tags (three per elevator), check-ins, maintenance plans on
the 15-day cycle and visits with the TSG T5002 checklist

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checkin_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('elevator_id', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('registered_at', infra.db.UTCDateTime(), nullable=False),
    sa.Column('registered_by', sa.String(length=60), nullable=False),
    sa.Column('retired_at', infra.db.UTCDateTime(), nullable=True),
    sa.Column('retired_by', sa.String(length=60), nullable=True),
    sa.ForeignKeyConstraint(['elevator_id'], ['elevators.id'], name=op.f('fk_checkin_tags_elevator_id_elevators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_tags')),
    sa.UniqueConstraint('code', name=op.f('uq_checkin_tags_code')),
    sa.UniqueConstraint('uid', name=op.f('uq_checkin_tags_uid'))
    )
    op.create_index(op.f('ix_checkin_tags_elevator_id'), 'checkin_tags', ['elevator_id'], unique=False)
    op.create_table('maintenance_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('elevator_id', sa.Integer(), nullable=False),
    sa.Column('maintenance_unit_id', sa.Integer(), nullable=False),
    sa.Column('cycle_days', sa.Integer(), nullable=False),
    sa.Column('next_due_on', sa.Date(), nullable=False),
    sa.Column('last_done', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', infra.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['elevator_id'], ['elevators.id'], name=op.f('fk_maintenance_plans_elevator_id_elevators')),
    sa.ForeignKeyConstraint(['maintenance_unit_id'], ['organisations.id'], name=op.f('fk_maintenance_plans_maintenance_unit_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_plans')),
    sa.UniqueConstraint('elevator_id', name=op.f('uq_maintenance_plans_elevator_id'))
    )
    op.create_index(op.f('ix_maintenance_plans_maintenance_unit_id'), 'maintenance_plans', ['maintenance_unit_id'], unique=False)
    op.create_index(op.f('ix_maintenance_plans_next_due_on'), 'maintenance_plans', ['next_due_on'], unique=False)
    op.create_table('checkins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', infra.db.UTCDateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('elevator_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=True),
    sa.Column('place', sa.String(length=20), nullable=True),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('proof', sa.String(length=10), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('far', sa.Boolean(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_checkins_case_id_cases')),
    sa.ForeignKeyConstraint(['elevator_id'], ['elevators.id'], name=op.f('fk_checkins_elevator_id_elevators')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_checkins_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['tag_id'], ['checkin_tags.id'], name=op.f('fk_checkins_tag_id_checkin_tags')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_checkins_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkins'))
    )
    op.create_index(op.f('ix_checkins_at'), 'checkins', ['at'], unique=False)
    op.create_index(op.f('ix_checkins_case_id'), 'checkins', ['case_id'], unique=False)
    op.create_index(op.f('ix_checkins_elevator_id'), 'checkins', ['elevator_id'], unique=False)
    op.create_index(op.f('ix_checkins_user_id'), 'checkins', ['user_id'], unique=False)
    op.create_table('maintenance_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('elevator_id', sa.Integer(), nullable=False),
    sa.Column('maintenance_unit_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=True),
    sa.Column('technician', sa.String(length=60), nullable=False),
    sa.Column('maintained_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=False),
    sa.Column('periods', sa.JSON(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('photos', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.Column('checkin_id', sa.Integer(), nullable=True),
    sa.Column('proof', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=80), nullable=True),
    sa.Column('recorded_at', infra.db.UTCDateTime(), nullable=False),
    sa.Column('recorded_by', sa.String(length=60), nullable=False),
    sa.Column('confirmed_at', infra.db.UTCDateTime(), nullable=True),
    sa.Column('confirmed_by', sa.String(length=60), nullable=True),
    sa.ForeignKeyConstraint(['checkin_id'], ['checkins.id'], name=op.f('fk_maintenance_visits_checkin_id_checkins')),
    sa.ForeignKeyConstraint(['elevator_id'], ['elevators.id'], name=op.f('fk_maintenance_visits_elevator_id_elevators')),
    sa.ForeignKeyConstraint(['maintenance_unit_id'], ['organisations.id'], name=op.f('fk_maintenance_visits_maintenance_unit_id_organisations')),
    sa.ForeignKeyConstraint(['technician_id'], ['users.id'], name=op.f('fk_maintenance_visits_technician_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_visits')),
    sa.UniqueConstraint('source', 'maintenance_unit_id', 'external_id', name=op.f('uq_maintenance_visits_source'))
    )
    op.create_index(op.f('ix_maintenance_visits_elevator_id'), 'maintenance_visits', ['elevator_id'], unique=False)
    op.create_index(op.f('ix_maintenance_visits_maintained_on'), 'maintenance_visits', ['maintained_on'], unique=False)
    op.create_index(op.f('ix_maintenance_visits_maintenance_unit_id'), 'maintenance_visits', ['maintenance_unit_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_maintenance_visits_maintenance_unit_id'), table_name='maintenance_visits')
    op.drop_index(op.f('ix_maintenance_visits_maintained_on'), table_name='maintenance_visits')
    op.drop_index(op.f('ix_maintenance_visits_elevator_id'), table_name='maintenance_visits')
    op.drop_table('maintenance_visits')
    op.drop_index(op.f('ix_checkins_user_id'), table_name='checkins')
    op.drop_index(op.f('ix_checkins_elevator_id'), table_name='checkins')
    op.drop_index(op.f('ix_checkins_case_id'), table_name='checkins')
    op.drop_index(op.f('ix_checkins_at'), table_name='checkins')
    op.drop_table('checkins')
    op.drop_index(op.f('ix_maintenance_plans_next_due_on'), table_name='maintenance_plans')
    op.drop_index(op.f('ix_maintenance_plans_maintenance_unit_id'), table_name='maintenance_plans')
    op.drop_table('maintenance_plans')
    op.drop_index(op.f('ix_checkin_tags_elevator_id'), table_name='checkin_tags')
    op.drop_table('checkin_tags')
