"""The row writer: what the StepRecorders of one transaction collected, written table by table.

One bulk statement per table (SQLAlchemy Core, no unit of work), in foreign-key order. Ids come
from engine.numbers beforehand, so nothing is read back and no row is written twice. On
PostgreSQL all of it goes out in one pipeline: one round trip.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, Table, bindparam, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from engine.models import Case, CaseTask, CaseTimer, FeedOutbox, Notification, TimelineEvent
from engine.recorder import StepRecorder

# The models' Tables (the declarative base types __table__ as any FromClause).
CASES, TASKS, TIMERS = (cast(Table, m.__table__) for m in (Case, CaseTask, CaseTimer))
EVENTS, NOTIFICATIONS, OUTBOX = (cast(Table, m.__table__) for m in (TimelineEvent, Notification, FeedOutbox))
# The case columns a step may change; written back with one versioned UPDATE.
STEP_COLUMNS = (
    "status",
    "escalation_level",
    "closed_at",
    "close_reason",
    "open_key",
    "milestones",
    "state",
    "timeline_seq",
    "timeline_head",
)
# The only case columns an entry that is not a step (a joined signal, a notice delivered) moves.
TIMELINE_COLUMNS = ("timeline_seq", "timeline_head")

# Every listed case row was last written by this transaction (xmin is our transaction id). The
# engine's transactions use no savepoints: a row written inside one would carry the sub-xid.
_WROTE_ALL = text(
    "SELECT 1 / CASE WHEN count(*) = :n THEN 1 ELSE 0 END FROM cases "
    "WHERE id = ANY(CAST(:ids AS integer[])) AND xmin::text = (pg_current_xact_id()::text::bigint % 4294967296)::text"
)

# The statements, built once (every step runs them; building one cost about as much as sending it).
# The SET columns of the UPDATEs come from the rows' keys.
_UPDATE_CASE = (
    update(CASES)
    .where(CASES.c.id == bindparam("b_id"), CASES.c.version == bindparam("b_version"))
    .values(version=CASES.c.version + 1)
)
_UPDATE_TASK = update(TASKS).where(TASKS.c.spiff_task_id == bindparam("b_sid"))
_DELETE_TIMERS = delete(TIMERS).where(TIMERS.c.case_id.in_(bindparam("case_ids", expanding=True)))
_INSERT = {t.name: insert(t).inline() for t in (CASES, TASKS, NOTIFICATIONS, TIMERS, EVENTS, OUTBOX)}


@cache
def _update_checked(columns: tuple[str, ...]) -> Executable:
    """One case's versioned UPDATE and its check in one statement (PostgreSQL): the UPDATE in a
    WITH, and 1 / (rows it changed), which is division by zero when the version read was not the
    row's any more. One statement where _UPDATE_CASE and _WROTE_ALL are two (a step's hot path)."""
    stepped = (
        update(CASES)
        .where(CASES.c.id == bindparam("b_id"), CASES.c.version == bindparam("b_version"))
        .values({CASES.c[k]: bindparam(f"v_{k}", type_=CASES.c[k].type) for k in columns})
        .values(version=CASES.c.version + 1)
        .returning(CASES.c.id)
        .cte("stepped")
    )
    return select(text("1 / count(*)")).select_from(stepped)


class StaleCase(Exception):
    """A case row changed between our read and our write (the version column said so)."""


def case_values(case: Case) -> dict[str, Any]:
    """The column values set on a new, detached Case, for a Core INSERT (columns left unset get
    their defaults, also ones other packages add later)."""
    state = case.__dict__
    return {c.key: state[c.key] for c in CASES.columns if c.key in state}


@dataclass
class Writes:
    """The rows of one transaction's steps, written table by table in foreign-key order."""

    new_cases: list[Case] = field(default_factory=list)
    steps: list[StepRecorder] = field(default_factory=list)
    # case id -> (version read, columns to write back), for steps on existing cases
    versions: dict[int, tuple[int, tuple[str, ...]]] = field(default_factory=dict)

    def add(
        self,
        recorder: StepRecorder,
        *,
        new_case: bool = False,
        version: int | None = None,
        columns: tuple[str, ...] = STEP_COLUMNS,
    ) -> None:
        self.steps.append(recorder)
        if new_case:
            self.new_cases.append(recorder.case)
        elif version is not None:
            self.versions[recorder.case.id] = (version, columns)

    def flush(self, session: Session) -> int:
        """Write everything; returns the number of statements sent (for the benchmark's counts).

        The case UPDATEs carry the version they read; that each matched is checked by row count
        (SQLite) or, as a pipeline reports no row counts, by the database itself (_update_checked
        for one case, _WROTE_ALL for several)."""
        session.flush()  # ORM changes (a domain effect's) before, not inside, the pipeline
        with _pipeline(session):
            statements = self._update_cases(session)
            statements += self._write_rows(session)
        for step in self.steps:
            if step.case.id in self.versions:
                step.case.version = self.versions[step.case.id][0] + 1
        for step in self.steps:
            step.events = []
        return statements

    def _update_cases(self, session: Session) -> int:
        """The versioned UPDATEs of existing cases, one per set of columns written back."""
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for step in self.steps:
            if step.case.id in self.versions:
                version, columns = self.versions[step.case.id]
                values = {k: getattr(step.case, k) for k in columns}
                values["b_id"], values["b_version"] = step.case.id, version
                updates.setdefault(columns, []).append(values)
        conn = session.connection()  # Core statements: no need for the ORM's execute path
        dialect = conn.dialect
        statements = 0
        for columns, rows in updates.items():
            if dialect.name == "postgresql" and len(rows) == 1:  # one step: checked in the same statement
                params = {("v_" + k if k in columns else k): v for k, v in rows[0].items()}
                conn.execute(_update_checked(columns), params)
                statements += 1
                continue
            result = cast(CursorResult[Any], conn.execute(_UPDATE_CASE, rows))  # a DML statement's result
            statements += 1
            if dialect.name == "postgresql":
                # Row counts are not reported inside a pipeline: the database checks instead
                # that this transaction wrote every one of the rows, else division by zero.
                ids = [r["b_id"] for r in rows]
                conn.execute(_WROTE_ALL, {"ids": ids, "n": len(ids)})
                statements += 1
            elif (len(rows) == 1 or dialect.supports_sane_multi_rowcount) and result.rowcount != len(rows):
                raise StaleCase("a case was changed by someone else at the same time")
        return statements

    def _write_rows(self, session: Session) -> int:
        """New cases, task changes, new tasks, notifications, timers, timeline entries and their outbox rows."""
        conn = session.connection()
        statements = 0

        def run(stmt: Any, rows: list[dict[str, Any]]) -> None:
            nonlocal statements
            if rows:
                conn.execute(stmt, rows)
                statements += 1

        run(_INSERT[CASES.name], [case_values(c) for c in self.new_cases])
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for step in self.steps:
            for spiff_id, change in step.task_changes.items():
                groups.setdefault(tuple(sorted(change)), []).append({"b_sid": spiff_id, **change})
        for rows in groups.values():
            run(_UPDATE_TASK, rows)
        run(_INSERT[TASKS.name], [row for step in self.steps for row in step.new_tasks])
        run(_INSERT[NOTIFICATIONS.name], [row for step in self.steps for row in step.notifications])
        rewritten = [s.case.id for s in self.steps if s.timers is not None and s.case.id in self.versions]
        if rewritten:
            conn.execute(_DELETE_TIMERS, {"case_ids": rewritten})
            statements += 1
        run(_INSERT[TIMERS.name], [row for step in self.steps if step.timers for row in step.timers])
        entries = [row for step in self.steps for row in step.events]
        run(_INSERT[EVENTS.name], entries)
        # The outbound feed's outbox: one row per entry, committed exactly when the entry is.
        run(_INSERT[OUTBOX.name], [{"source": "case", "case_id": e["case_id"], "seq": e["seq"]} for e in entries])
        return statements


@contextmanager
def _pipeline(session: Session) -> Iterator[None]:
    """psycopg's pipeline mode on PostgreSQL: the statements inside are sent without waiting for
    each answer, and their errors are raised at the end (as SQLAlchemy errors, for the callers'
    retry and conflict handling). Only statements whose results are not read may run inside."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        yield
        return
    import psycopg

    # The postgresql+psycopg dialect's DBAPI connection (typed there as any DBAPI connection).
    raw = cast(psycopg.Connection[Any], connection.connection.dbapi_connection)
    try:
        with raw.pipeline():
            yield
    except psycopg.errors.DivisionByZero as err:  # _WROTE_ALL: a case row was not ours to write
        raise StaleCase("a case was changed by someone else at the same time") from err
    except DBAPIError as err:
        # A pipeline error can also surface at a later statement inside the block (when psycopg
        # syncs early), already wrapped by SQLAlchemy: the same verdict by its original error.
        if isinstance(err.orig, psycopg.errors.DivisionByZero):
            raise StaleCase("a case was changed by someone else at the same time") from err
        raise
    except psycopg.errors.IntegrityError as err:
        raise IntegrityError("pipelined writes", None, err) from err
    except psycopg.Error as err:
        raise DBAPIError("pipelined writes", None, err) from err
