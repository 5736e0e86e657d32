"""Schema migrations with Alembic, driven from code (`liftcase init`, tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head", connection: Any = None) -> None:
    config = alembic_config(url)
    if connection is not None:
        config.attributes["connection"] = connection
    command.upgrade(config, revision)


def autogenerate(url: str, message: str) -> None:
    command.revision(alembic_config(url), message=message, autogenerate=True)


def draft_upgrade() -> str:
    """The Alembic operations that bring a database at `head` to the current models, as Python
    source to paste into a migration's upgrade(). For developers: `python -m liftcase.migrate`."""
    import tempfile

    from alembic.autogenerate import produce_migrations, render_python_code
    from alembic.migration import MigrationContext

    import liftcase.migrations.models  # noqa: F401 - every table
    from infra.db import Base, make_engine

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/draft.sqlite3"
        engine = make_engine(url)
        with engine.begin() as connection:
            upgrade(url, connection=connection)
        with engine.connect() as connection:
            script = produce_migrations(MigrationContext.configure(connection), Base.metadata)
        engine.dispose()
    return render_python_code(script.upgrade_ops) + "\n\n# downgrade:\n" + render_python_code(script.downgrade_ops)


if __name__ == "__main__":
    print(draft_upgrade())
