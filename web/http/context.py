"""Per-request access to the system, a database session and the signed-in user's scope."""

from __future__ import annotations

from flask import Flask, current_app, g
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
    """End the request's read transaction before the engine writes in its own (SQLite takes the
    write lock at BEGIN, so an open read would block the engine's transaction)."""
    session = g.get("db")
    if session is not None:
        session.close()


def scope() -> Scope:
    """The signed-in user's scope (set by web.http.auth before the view runs)."""
    return g.scope


def install(app: Flask) -> None:
    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()
