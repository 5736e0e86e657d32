"""register sync: each source's word per field of a record, the fields' provenance, and the
conflicts between sources that a regulator decides

Revision ID: 0021
Revises: 0020
"""

from alembic import op
import sqlalchemy as sa
import infra.db


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_source_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=10), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("reported_at", infra.db.UTCDateTime(), nullable=False),
        sa.Column("batch", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_source_values")),
        sa.UniqueConstraint(
            "record_id", "record_type", "field", "source", name=op.f("uq_register_source_values_record_id")
        ),
    )
    op.create_table(
        "register_provenance",
        sa.Column("record_type", sa.String(length=10), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("set_at", infra.db.UTCDateTime(), nullable=False),
        sa.Column("set_by", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("record_id", "record_type", "field", name=op.f("pk_register_provenance")),
    )
    op.create_table(
        "register_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=10), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=40), nullable=False),
        sa.Column("open_key", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("register_value", sa.JSON(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("detected_at", infra.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", infra.db.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", infra.db.UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.String(length=60), nullable=True),
        sa.Column("chosen_source", sa.String(length=20), nullable=True),
        sa.Column("chosen_value", sa.JSON(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_conflicts")),
        sa.UniqueConstraint("open_key", name=op.f("uq_register_conflicts_open_key")),
    )
    op.create_index(
        "ix_register_conflicts_record", "register_conflicts", ["record_id", "record_type", "field"], unique=False
    )
    op.create_index(op.f("ix_register_conflicts_status"), "register_conflicts", ["status"], unique=False)
    op.create_index(op.f("ix_register_conflicts_fingerprint"), "register_conflicts", ["fingerprint"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_register_conflicts_fingerprint"), table_name="register_conflicts")
    op.drop_index(op.f("ix_register_conflicts_status"), table_name="register_conflicts")
    op.drop_index("ix_register_conflicts_record", table_name="register_conflicts")
    op.drop_table("register_conflicts")
    op.drop_table("register_provenance")
    op.drop_table("register_source_values")
