"""MQTT ingest: dead letters, device state, offline tracking

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import liftcase.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
