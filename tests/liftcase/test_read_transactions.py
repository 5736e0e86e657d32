"""Read-only transactions end in COMMIT on PostgreSQL (infra.db): psycopg keeps the statements it
prepared, and a transaction that wrote anything is still rolled back when it is not committed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from infra.db import make_engine, make_sessionmaker


@pytest.fixture
def probe(pg_server: str) -> Iterator[tuple[Engine, str]]:
    """An engine as the system makes it, and a table of this test's own with one row (id 1, n 0)."""
    engine = make_engine(pg_server)
    table = f"read_probe_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {table} (id integer PRIMARY KEY, n integer NOT NULL)"))
        conn.execute(text(f"INSERT INTO {table} VALUES (1, 0)"))
    yield engine, table
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {table}"))
    engine.dispose()


def _rows(engine: Engine, table: str) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT id, n FROM {table} ORDER BY id"))]  # type: ignore[misc]


def test_statements_stay_prepared_across_read_sessions_closed_unfinished(probe: tuple[Engine, str]) -> None:
    engine, table = probe
    sessions = make_sessionmaker(engine)
    for _ in range(8):  # psycopg prepares a statement at its fifth run; a ROLLBACK used to forget it
        with sessions() as session:  # a request's reads: the session is closed, never committed
            assert session.execute(text(f"SELECT n FROM {table} WHERE id = :id"), {"id": 1}).scalar_one() == 0
    with sessions() as session:
        prepared = session.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :probe"),
            {"probe": f"SELECT n FROM {table}%"},
        ).scalar_one()
    assert prepared == 1


@pytest.mark.parametrize(
    "write",
    [
        "INSERT INTO {t} VALUES (2, 0)",
        "UPDATE {t} SET n = 5 WHERE id = 1",
        "WITH moved AS (UPDATE {t} SET n = 7 RETURNING id) SELECT count(*) FROM moved",
        "  delete from {t} where id = 1",
    ],
)
def test_a_transaction_that_wrote_is_rolled_back_when_closed_unfinished(probe: tuple[Engine, str], write: str) -> None:
    engine, table = probe
    with make_sessionmaker(engine)() as session:
        session.execute(text(f"SELECT n FROM {table} FOR UPDATE"))  # reads before and after the write
        session.execute(text(write.format(t=table)))
        session.execute(text(f"SELECT count(*) FROM {table}"))
    assert _rows(engine, table) == [(1, 0)]


def test_an_explicit_rollback_after_a_write_undoes_it(probe: tuple[Engine, str]) -> None:
    engine, table = probe
    with make_sessionmaker(engine)() as session:
        session.execute(text(f"UPDATE {table} SET n = 3"))
        session.rollback()
        session.execute(text(f"SELECT n FROM {table}"))  # a new transaction that only reads
    assert _rows(engine, table) == [(1, 0)]


def test_a_failed_read_is_rolled_back_and_the_connection_serves_on(probe: tuple[Engine, str]) -> None:
    engine, table = probe
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        with pytest.raises(ProgrammingError):
            session.execute(text("SELECT n FROM no_such_table_here"))
        session.rollback()
        assert session.execute(text(f"SELECT n FROM {table}")).scalar_one() == 0
    with sessions() as session, session.begin():
        session.execute(text(f"UPDATE {table} SET n = n + 1"))
    assert _rows(engine, table) == [(1, 1)]


def test_a_lock_taken_by_a_read_is_released_when_its_session_closes(probe: tuple[Engine, str]) -> None:
    engine, table = probe
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        session.execute(text(f"SELECT n FROM {table} WHERE id = 1 FOR UPDATE"))
    other = make_engine(str(engine.url))
    try:
        with other.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '2s'"))
            conn.execute(text(f"UPDATE {table} SET n = 9 WHERE id = 1"))
    finally:
        other.dispose()
    assert _rows(engine, table) == [(1, 9)]
