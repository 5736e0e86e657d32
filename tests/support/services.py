"""The real services some tests need: PostgreSQL and Redis addresses, and skipping (or, under
CI=true, failing) when one is unreachable."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN = os.environ.get("LIFTCASE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def xdist_worker() -> tuple[int, int]:
    """(this worker's index, how many workers) under pytest-xdist; (0, 1) in a plain run."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def _own_redis_database(url: str) -> str:
    """Tests flush their Redis database: each xdist worker takes its own, counting down from the
    given one (gw0 the given, gw1 the one below it)."""
    index, _ = xdist_worker()
    base, _, database = url.rpartition("/")
    return f"{base}/{(int(database or 0) - index) % 16}"


REDIS_URL = _own_redis_database(os.environ.get("LIFTCASE_TEST_REDIS", "redis://127.0.0.1:6379/15"))


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


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """A database of its own on the shared PostgreSQL (PG_ADMIN's server), dropped afterwards;
    yields its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
