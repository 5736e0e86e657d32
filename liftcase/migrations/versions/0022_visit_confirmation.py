"""maintenance visits: the use unit's answer (pending, confirmed, disputed with a reason)

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

import infra.db

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("maintenance_visits") as batch:
        batch.add_column(sa.Column("confirmation", sa.String(length=10), server_default="pending", nullable=False))
        batch.add_column(sa.Column("disputed_at", infra.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("disputed_by", sa.String(length=60), nullable=True))
        batch.add_column(sa.Column("dispute_reason", sa.String(length=500), nullable=True))
        batch.create_index(batch.f("ix_maintenance_visits_confirmation"), ["confirmation"], unique=False)
    op.execute("UPDATE maintenance_visits SET confirmation = 'confirmed' WHERE confirmed_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("maintenance_visits") as batch:
        batch.drop_index(batch.f("ix_maintenance_visits_confirmation"))
        batch.drop_column("dispute_reason")
        batch.drop_column("disputed_by")
        batch.drop_column("disputed_at")
        batch.drop_column("confirmation")
