"""The real services some tests need: PostgreSQL and Redis addresses, and skipping (or, under
CI=true, failing) when one is unreachable."""

from __future__ import annotations

import os
import socket

import pytest

PG_ADMIN = os.environ.get("LIFTCASE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LIFTCASE_TEST_REDIS", "redis://127.0.0.1:6379/15")


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
