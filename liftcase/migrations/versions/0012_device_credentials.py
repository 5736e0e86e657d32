"""device credentials: each IoT box's MQTT secret hash

Revision ID: 0012
Revises: 0009 (on this branch; 0011 once the 0010 and 0011 branches have landed)
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('device_credentials',
    sa.Column('device_id', sa.String(length=40), nullable=False),
    sa.Column('secret_hash', sa.String(length=200), nullable=False),
    sa.Column('issued_at', infra.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_device_credentials_device_id_devices')),
    sa.PrimaryKeyConstraint('device_id', name=op.f('pk_device_credentials'))
    )


def downgrade() -> None:
    op.drop_table('device_credentials')
