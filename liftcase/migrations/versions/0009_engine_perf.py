"""engine performance: sequences, indexes

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Lookups by case use the (case_id, ...) unique constraints; these duplicates only cost writes.
    with op.batch_alter_table('timeline_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timeline_events_case_id'))
    with op.batch_alter_table('case_timers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_timers_case_id'))
    # Case numbers on PostgreSQL come from per-day sequences (engine/numbers.py), created on first
    # use; case_counters stays for SQLite.


def downgrade() -> None:
    with op.batch_alter_table('case_timers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_timers_case_id'), ['case_id'], unique=False)
    with op.batch_alter_table('timeline_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_timeline_events_case_id'), ['case_id'], unique=False)
