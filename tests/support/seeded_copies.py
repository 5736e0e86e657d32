"""Copies of a seeded database: make_system builds a city once per test run and kind of database
(migrated schema, seeded city, processes deployed) and gives every later test with the same seed
a copy of it, instead of running the migrations, the seed and the deploy again (seconds per test).

A copy is a database of the test's own, as before: SQLite through the backup API into the test's
own (not yet existing) file; PostgreSQL by replaying pg_dump's script of the first build into the
test's database (_replay: one round trip per run of statements, COPY for the rows), which must be
empty (its public schema without tables). Where a copy cannot be made (the file exists, the schema
has tables, no pg_dump), make_system builds as before.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Hashable
from dataclasses import fields
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, inspect, make_url

from infra.settings import Settings

# Settings only read while the system runs, never by the migrations, the seed or the deploy: a
# test's own upload folder, queue, addresses and gateways do not change what is in the database.
RUNTIME_ONLY = frozenset(
    {
        "database_url",
        "upload_dir",
        "redis_url",
        "public_base_url",
        "sms_gateway_url",
        "im_webhook_url",
        "smtp_host",
        "smtp_port",
        "smtp_from",
        "smtp_user",
        "smtp_password",
        "smtp_starttls",
        "gateway_secret",
        "workflow_cache_cases",
        "notify_timeout_seconds",
        "notify_max_attempts",
        "notify_backoff_seconds",
        "timer_poll_seconds",
        "timer_lookahead_seconds",
        "map_tile_url",
    }
)

_sqlite: dict[Hashable, bytes] = {}  # a seed's SQLite database, as the backup API wrote it
_postgres: dict[Hashable, str] = {}  # a seed's PostgreSQL database, as pg_dump's script


def seed_key(settings: Settings, elevators: int, now: object) -> Hashable:
    """What decides a seeded database's contents: every setting but the runtime-only ones, the
    number of elevators and the clock's time at seeding (it stamps the deploys and the records)."""
    values = tuple((f.name, repr(getattr(settings, f.name))) for f in fields(settings) if f.name not in RUNTIME_ONLY)
    return (make_url(settings.database_url).get_backend_name(), elevators, repr(now), values)


def restore(url: str, key: Hashable) -> bool:
    """The seed `key` copied into the (empty) database at `url`; False when there is no copy yet
    or the database is not empty."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite" and key in _sqlite:
        path = _sqlite_path(url)
        if path is None or path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_sqlite[key])
        return True
    if backend == "postgresql" and key in _postgres and _empty(url):
        _replay(url, _postgres[key])
        return True
    return False


def keep(url: str, key: Hashable) -> None:
    """Keep the database just built at `url` as the copy for `key` (its first build)."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite" and key not in _sqlite:
        path = _sqlite_path(url)
        if path is not None and path.exists():
            _sqlite[key] = _sqlite_bytes(path)
    elif backend == "postgresql" and key not in _postgres and _tools_present():
        dumped = subprocess.run(
            [_tool("pg_dump"), "--no-owner", "--no-privileges", "-d", _libpq(url)],
            capture_output=True,
            text=True,
        )
        if dumped.returncode == 0:  # else (e.g. a pg_dump older than the server) every test builds
            _postgres[key] = dumped.stdout


def empty_before_build(url: str) -> bool:
    """Whether `url` is a database a copy may go into: a SQLite file not yet there, or a
    PostgreSQL database whose public schema has no tables."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        path = _sqlite_path(url)
        return path is not None and not path.exists()
    return backend == "postgresql" and _tools_present() and _empty(url)


def _sqlite_path(url: str) -> Path | None:
    database = make_url(url).database
    return None if not database or database == ":memory:" else Path(database)


def _sqlite_bytes(path: Path) -> bytes:
    """The database as one file (the backup API: whatever the WAL still holds is in it)."""
    source = sqlite3.connect(path)
    target = sqlite3.connect(":memory:")
    try:
        source.backup(target)
        return target.serialize()
    finally:
        source.close()
        target.close()


def _replay(url: str, dump: str) -> None:
    """pg_dump's script into the database at `url`, in one transaction: the statements between two
    COPY blocks in one round trip, each table's rows by COPY (psql would send every statement on
    its own, and waits for each under load)."""
    with psycopg.connect(_libpq(url)) as conn, conn.cursor() as cur:
        statements: list[str] = []
        lines = iter(dump.splitlines())
        for line in lines:
            if line.startswith(("\\restrict", "\\unrestrict")):  # psql's meta-commands
                continue
            if not (line.startswith("COPY ") and line.endswith(" FROM stdin;")):
                statements.append(line)
                continue
            if statements:
                cur.execute("\n".join(statements))
                statements = []
            rows = "".join(f"{row}\n" for row in iter(lines.__next__, "\\."))
            with cur.copy(line) as copy:
                copy.write(rows)
        if statements:
            cur.execute("\n".join(statements))


def _empty(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return not inspect(conn).get_table_names(schema="public")
    finally:
        engine.dispose()


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found is not None
    return found


def _tools_present() -> bool:
    return shutil.which("pg_dump") is not None
