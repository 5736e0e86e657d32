"""cases about special equipment other than elevators (the inspection expiry of a boiler, a crane …):
the case names its equipment record

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # In place with its reference; a batch copy would drop `cases`, which tasks and timelines reference.
        op.execute('ALTER TABLE cases ADD COLUMN equipment_id INTEGER REFERENCES equipment (id)')
    else:
        op.add_column('cases', sa.Column('equipment_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_cases_equipment_id_equipment'), 'cases', 'equipment', ['equipment_id'], ['id'])
    op.create_index(op.f('ix_cases_equipment_id'), 'cases', ['equipment_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_cases_equipment_id'), table_name='cases')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_cases_equipment_id_equipment'), 'cases', type_='foreignkey')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('equipment_id')
