"""single sign-on back-channel logout: the provider's sid of each SSO session, logout tokens seen

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

import infra.db

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sso_sessions") as batch:
        batch.add_column(sa.Column("sid", sa.String(length=255), nullable=True))
        batch.create_index(batch.f("ix_sso_sessions_sid"), ["sid"], unique=False)
    op.create_table(
        "sso_logout_tokens_seen",
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("jti", sa.String(length=255), nullable=False),
        sa.Column("keep_until", infra.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("issuer", "jti", name=op.f("pk_sso_logout_tokens_seen")),
    )
    op.create_index(
        op.f("ix_sso_logout_tokens_seen_keep_until"), "sso_logout_tokens_seen", ["keep_until"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sso_logout_tokens_seen_keep_until"), table_name="sso_logout_tokens_seen")
    op.drop_table("sso_logout_tokens_seen")
    with op.batch_alter_table("sso_sessions") as batch:
        batch.drop_index(batch.f("ix_sso_sessions_sid"))
        batch.drop_column("sid")
