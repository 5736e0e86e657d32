"""Alembic environment: the URL comes from the caller's config (liftcase.migrate), never a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import liftcase.migrations.models  # noqa: F401 - every table
from infra.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=connection.dialect.name == "sqlite"
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _migrate(given)
        return
    with make_engine(config.get_main_option("sqlalchemy.url") or "").connect() as connection:
        _migrate(connection)


run_migrations_online()
