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


def downgrade() -> None:
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
