"""MQTT ingest: dead letters, device state, offline tracking

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ingest_counters',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_ingest_counters'))
    )
    op.create_table('ingest_dead_letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('received_at', infra.db.UTCDateTime(), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('device_id', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.String(length=30), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_dead_letters'))
    )
    op.create_index(op.f('ix_ingest_dead_letters_device_id'), 'ingest_dead_letters', ['device_id'], unique=False)
    op.create_index(op.f('ix_ingest_dead_letters_reason'), 'ingest_dead_letters', ['reason'], unique=False)
    op.create_index(op.f('ix_ingest_dead_letters_received_at'), 'ingest_dead_letters', ['received_at'], unique=False)
    op.create_table('device_detector_states',
    sa.Column('device_id', sa.String(length=40), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('updated_at', infra.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_device_detector_states_device_id_devices')),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_device_detector_states'))
    )


def downgrade() -> None:
    op.drop_table('device_detector_states')
    op.drop_index(op.f('ix_ingest_dead_letters_received_at'), table_name='ingest_dead_letters')
    op.drop_index(op.f('ix_ingest_dead_letters_reason'), table_name='ingest_dead_letters')
    op.drop_index(op.f('ix_ingest_dead_letters_device_id'), table_name='ingest_dead_letters')
    op.drop_table('ingest_dead_letters')
    op.drop_table('ingest_counters')
