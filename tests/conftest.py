"""Shared fixtures: a throwaway database per test run (SQLite file, or a fresh PostgreSQL database),
a simulated clock, a seeded small city with the processes deployed.

Tests that need PostgreSQL or Redis skip with the reason when the service is unreachable,
except under CI=true, where they fail instead. The helpers behind these fixtures (make_system,
need_service, START, ...) live in tests/support/, which the tests import them from.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from infra.clock import SimulatedClock
from processes.system import System
from tests.support.services import need_service, throwaway_database
from tests.support.system import START, make_system


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A database of this run's own on the real PostgreSQL, dropped afterwards."""
    need_service(5432, "PostgreSQL")
    with throwaway_database("liftcase_test") as url:
        yield url


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
