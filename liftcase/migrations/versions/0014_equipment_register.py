"""the elevator record (manufacturer, model, factory number, installer, use certificate, place category
and key place, rated load and speed); the register of the other special equipment

Revision ID: 0014
Revises: 0012 (the lead re-chains at merge)
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None

ORG_REFERENCES = ('manufacturer_id', 'installer_id')


def _add_elevator_columns() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for column in ORG_REFERENCES:
        if sqlite:
            # SQLite adds a column with its reference in place; a batch copy would drop `elevators`, which
            # devices and cases reference.
            op.execute(f'ALTER TABLE elevators ADD COLUMN {column} INTEGER REFERENCES organisations (id)')
        else:
            op.add_column('elevators', sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(
                op.f(f'fk_elevators_{column}_organisations'), 'elevators', 'organisations', [column], ['id']
            )
        op.create_index(op.f(f'ix_elevators_{column}'), 'elevators', [column], unique=False)
    op.add_column('elevators', sa.Column('model', sa.String(length=60), nullable=True))
    op.add_column('elevators', sa.Column('factory_number', sa.String(length=40), nullable=True))
    op.add_column('elevators', sa.Column('use_certificate_no', sa.String(length=40), nullable=True))
    op.add_column('elevators', sa.Column('place_category', sa.String(length=20), nullable=True))
    op.add_column('elevators', sa.Column('key_place', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('elevators', sa.Column('rated_load_kg', sa.Integer(), nullable=True))
    op.add_column('elevators', sa.Column('rated_speed', sa.Float(), nullable=True))
    op.create_index(op.f('ix_elevators_place_category'), 'elevators', ['place_category'], unique=False)


def upgrade() -> None:
    _add_elevator_columns()
    op.create_table('equipment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_class', sa.String(length=30), nullable=False),
    sa.Column('register_code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('district_code', sa.String(length=12), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('use_unit_id', sa.Integer(), nullable=False),
    sa.Column('maintenance_unit_id', sa.Integer(), nullable=True),
    sa.Column('manufacturer_id', sa.Integer(), nullable=True),
    sa.Column('installer_id', sa.Integer(), nullable=True),
    sa.Column('model', sa.String(length=60), nullable=True),
    sa.Column('factory_number', sa.String(length=40), nullable=True),
    sa.Column('use_certificate_no', sa.String(length=40), nullable=True),
    sa.Column('place_category', sa.String(length=20), nullable=True),
    sa.Column('key_place', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('installed_on', sa.Date(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('inspection_cycle_months', sa.Integer(), nullable=False),
    sa.Column('last_inspected_on', sa.Date(), nullable=True),
    sa.Column('next_inspection_due', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('retired_at', infra.db.UTCDateTime(), nullable=True),
    sa.Column('retired_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', infra.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', infra.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['district_code'], ['districts.code'], name=op.f('fk_equipment_district_code_districts')),
    sa.ForeignKeyConstraint(['installer_id'], ['organisations.id'], name=op.f('fk_equipment_installer_id_organisations')),
    sa.ForeignKeyConstraint(['maintenance_unit_id'], ['organisations.id'], name=op.f('fk_equipment_maintenance_unit_id_organisations')),
    sa.ForeignKeyConstraint(['manufacturer_id'], ['organisations.id'], name=op.f('fk_equipment_manufacturer_id_organisations')),
    sa.ForeignKeyConstraint(['use_unit_id'], ['organisations.id'], name=op.f('fk_equipment_use_unit_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equipment')),
    sa.UniqueConstraint('register_code', name=op.f('uq_equipment_register_code'))
    )
    op.create_index(op.f('ix_equipment_district_code'), 'equipment', ['district_code'], unique=False)
    op.create_index(op.f('ix_equipment_equipment_class'), 'equipment', ['equipment_class'], unique=False)
    op.create_index(op.f('ix_equipment_maintenance_unit_id'), 'equipment', ['maintenance_unit_id'], unique=False)
    op.create_index(op.f('ix_equipment_next_inspection_due'), 'equipment', ['next_inspection_due'], unique=False)
    op.create_index(op.f('ix_equipment_place_category'), 'equipment', ['place_category'], unique=False)
    op.create_index(op.f('ix_equipment_status'), 'equipment', ['status'], unique=False)
    op.create_index(op.f('ix_equipment_use_unit_id'), 'equipment', ['use_unit_id'], unique=False)


def downgrade() -> None:
    for column in ('use_unit_id', 'status', 'place_category', 'next_inspection_due', 'maintenance_unit_id',
                   'equipment_class', 'district_code'):
        op.drop_index(op.f(f'ix_equipment_{column}'), table_name='equipment')
    op.drop_table('equipment')
    op.drop_index(op.f('ix_elevators_place_category'), table_name='elevators')
    with op.batch_alter_table('elevators', schema=None) as batch_op:
        for column in ('rated_speed', 'rated_load_kg', 'key_place', 'place_category', 'use_certificate_no',
                       'factory_number', 'model'):
            batch_op.drop_column(column)
    for column in ORG_REFERENCES:
        op.drop_index(op.f(f'ix_elevators_{column}'), table_name='elevators')
        if op.get_bind().dialect.name != 'sqlite':
            op.drop_constraint(op.f(f'fk_elevators_{column}_organisations'), 'elevators', type_='foreignkey')
        with op.batch_alter_table('elevators', schema=None) as batch_op:
            batch_op.drop_column(column)
