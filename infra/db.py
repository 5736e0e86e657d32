"""Database plumbing shared by every domain: the declarative base, UTC times, sessions."""

from __future__ import annotations

import re
import time
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

from infra.outage import Outage

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, hands back aware UTC, refuses naive input (it would be ambiguous)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: liftcase stores only timezone-aware times")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        # BEGIN IMMEDIATE: a writer takes the lock at the start, so two steps on one case
        # serialise instead of failing late with a stale snapshot.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        # Web requests read with a deferred BEGIN (WAL lets them run beside a writer); they bind
        # through `engine.execution_options(read_mostly=True)`.
        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            deferred = conn.get_execution_options().get("read_mostly")
            conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

        return engine
    # A connection that died with the server is replaced before it is used (pinged when it sat
    # idle), so the first request after PostgreSQL returns succeeds.
    engine = create_engine(url, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    _end_reads_with_commit(engine)
    outage = _OUTAGES[engine] = Outage("PostgreSQL", "requests answer 503 and jobs wait until it is back")

    @event.listens_for(engine, "handle_error")
    def _lost(context: Any) -> None:
        if context.is_pre_ping:  # a pooled connection that died meanwhile: the pool replaces it quietly
            return
        error = context.sqlalchemy_exception
        if context.is_disconnect or (error is not None and database_unavailable(error)):
            outage.down(context.original_exception)

    @event.listens_for(engine, "connect")
    def _back(_dbapi_conn: Any, _record: Any) -> None:
        outage.up()

    return engine


_OUTAGES: weakref.WeakKeyDictionary[Engine, Outage] = weakref.WeakKeyDictionary()


def database_outage(engine: Engine) -> Outage | None:
    """The outage record of a PostgreSQL engine (None for SQLite: a file does not go away)."""
    return _OUTAGES.get(engine)


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached (down, restarting, connection cut), as
    opposed to a failed statement (a deadlock or a cancelled query is an OperationalError too)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)  # None: no server answered (refused, unreachable)
    return sqlstate is None or sqlstate.startswith(("08", "57P"))  # connection exception, shutdown


def wait_for_database(engine: Engine, *, poll_seconds: float = 0.5, give_up_after: float | None = None) -> bool:
    """Block until a connection to `engine` works again (tried every `poll_seconds`); False if it
    did not within `give_up_after` seconds."""
    deadline = None if give_up_after is None else time.monotonic() + give_up_after
    while True:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except DBAPIError as err:
            if not database_unavailable(err):
                raise
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(poll_seconds)


# A connection handed back less than this ago is trusted; an older one is pinged first.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pre-ping, but only for connections that sat idle in the pool: a restarted or
    failed-over database shows on them, and at steady load (a checkout every few milliseconds,
    three a step) the round trip is saved. A database that dies within the second after a
    connection was last used fails that one request, and the pool then drops all its connections
    (SQLAlchemy invalidates the pool on a disconnect)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("checked_in_at", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # just connected, or in use a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as err:
            raise DisconnectionError("connection found dead at checkout") from err
        if not alive:
            raise DisconnectionError("connection found dead at checkout")


# A statement that reads only (a SELECT, also one that locks rows or draws a sequence number).
_READS_ONLY = re.compile(r"\s*SELECT\b", re.IGNORECASE).match


def _end_reads_with_commit(engine: Engine) -> None:
    """A transaction that sent nothing but SELECTs ends in COMMIT where SQLAlchemy would roll it back.

    psycopg forgets every statement it prepared at each ROLLBACK (it cannot know what a rolled-back
    transaction did to the schema), and a request's read transaction, closed unfinished, ends in
    one: a pooled connection then never keeps a statement prepared, and PostgreSQL parses and plans
    every statement of every step again. For a transaction that wrote nothing, COMMIT and ROLLBACK
    end it alike (sequence numbers drawn and advisory locks behave the same either way); one that
    sent anything else, or failed, is rolled back as before. The ROLLBACK that follows finds no
    transaction open and costs nothing."""
    from psycopg.pq import PipelineStatus, TransactionStatus  # once per PostgreSQL engine, not per rollback

    @event.listens_for(engine, "before_cursor_execute")
    def _note(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not _READS_ONLY(statement):
            conn.info["wrote"] = True

    @event.listens_for(engine, "commit")
    def _committed(conn: Any) -> None:
        conn.info.pop("wrote", None)

    @event.listens_for(engine, "rollback")
    def _rollback(conn: Any) -> None:
        if conn.invalidated or conn.info.pop("wrote", False):  # (an invalidated one has no info to read)
            return
        raw = conn.connection.dbapi_connection
        if raw is None or raw.autocommit:
            return
        pgconn = raw.pgconn
        if pgconn.transaction_status == TransactionStatus.INTRANS and pgconn.pipeline_status == PipelineStatus.OFF:
            try:
                raw.commit()
            except engine.dialect.loaded_dbapi.Error:
                pass  # the rollback that follows meets the same trouble, and reports it as usual


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
