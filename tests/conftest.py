"""Shared fixtures: a throwaway database per test run (SQLite file, or a fresh PostgreSQL database),
a simulated clock, a seeded small city with the processes deployed.

Tests that need PostgreSQL or Redis skip with the reason when the service is unreachable,
except under CI=true, where they fail instead.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from demo.seed import seed_city
from infra.clock import SimulatedClock
from infra.settings import Settings
from liftcase.bootstrap import build_system, create_schema
from processes.system import System

PG_ADMIN = os.environ.get("LIFTCASE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LIFTCASE_TEST_REDIS", "redis://127.0.0.1:6379/15")
START = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def need_service(port: int, name: str) -> None:
    if not reachable(port):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} on 127.0.0.1:{port} is unreachable and CI=true requires it")
        pytest.skip(f"{name} on 127.0.0.1:{port} is unreachable")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A database of this run's own on the real PostgreSQL, dropped afterwards."""
    need_service(5432, "PostgreSQL")
    name = f"liftcase_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_pg(pg_server: str) -> str:
    """Each test gets an empty schema in the run's database (fast compared to CREATE DATABASE)."""
    engine = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return pg_server


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'liftcase.sqlite3'}"
    return _fresh_pg(request.getfixturevalue("pg_server"))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'liftcase.sqlite3'}"


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


def make_system(url: str, clock: SimulatedClock, *, elevators: int = 200, **settings: object) -> System:
    system = build_system(Settings(database_url=url, **settings), clock=clock)  # type: ignore[arg-type]
    create_schema(system)
    with system.sessions() as session, session.begin():
        seed_city(session, elevators=elevators, devices=20, clock_now=clock.now())
    system.deploy_processes()
    return system


@pytest.fixture
def system(db_url: str, clock: SimulatedClock) -> Iterator[System]:
    system = make_system(db_url, clock)
    yield system
    system.db.dispose()


@pytest.fixture
def sqlite_system(sqlite_url: str, clock: SimulatedClock) -> Iterator[System]:
    system = make_system(sqlite_url, clock)
    yield system
    system.db.dispose()
