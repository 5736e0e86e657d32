"""Per-request access to the system, a database session and the signed-in user's scope."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from processes.system import System
from registry.scope import Scope


def system() -> System:
    return current_app.extensions["liftcase"]


def db() -> Session:
    """One session per request, closed when the request ends. Writes commit explicitly."""
    if "db" not in g:
        # Requests read with a deferred BEGIN beside the engine's writers (SQLite WAL); the engine's
        # own steps take the write lock at BEGIN. A view that must read and then write without an
        # engine step uses `writer()`.
        g.db = system().sessions(bind=system().db.execution_options(read_mostly=True))
    return g.db


def writer() -> Session:
    """A session of its own whose transaction takes SQLite's write lock at BEGIN: upgrading a read
    transaction to a write fails at once there when another writer committed in between."""
    return system().sessions()


def end_reads() -> None:
    """Before the engine writes in a transaction of its own: forget what the request read, so a
    read after the step sees the step's rows, not the objects read before it. SQLite: end the
    read transaction (the engine takes the write lock at BEGIN, an open read would block it).
    PostgreSQL in READ COMMITTED: every statement sees what was committed before it, so the
    request keeps its connection and transaction (no pool round trip, no ROLLBACK and BEGIN again
    for the answer's reads); it holds no row lock meanwhile."""
    session = g.get("db")
    if session is None:
        return
    if _keeps_reads_across_steps(system().db.dialect):
        session.expunge_all()  # as close() does: the objects read stay readable, detached
    else:
        session.close()


def _keeps_reads_across_steps(dialect: Dialect) -> bool:
    return dialect.name == "postgresql" and dialect.default_isolation_level == "READ COMMITTED"


def scope() -> Scope:
    """The signed-in user's scope (set by web.http.auth before the view runs)."""
    return g.scope


def install(app: Flask) -> None:
    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()
