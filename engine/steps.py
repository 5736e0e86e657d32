"""One engine step on one case: load the workflow, act, run, and persist everything it changed.

A step is one database transaction: the serialized workflow state, the task rows, the timer
due times, the timeline events and the queued notifications are written together or not at
all. The case row is locked (PostgreSQL) and versioned (every database), so two steps on the
same case never both commit.

Everything a step changes is computed in memory first and collected by its StepRecorder; a
`Writes` then puts the rows of one step, or of a whole batch of case starts, into the database
with one bulk statement per table (SQLAlchemy Core, no unit of work). Ids come from
engine.numbers beforehand, so nothing is read back and no row is written twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from engine.definitions import ParsedProcess
from engine.hooks import CaseHooks
from engine.models import (
    Case,
    CaseStatus,
    CaseTask,
    CaseTimer,
    EventKind,
    Notification,
    TaskStatus,
    TimelineEvent,
)
from engine.numbers import IdSource
from engine.scripting import CaseScriptEngine, Effect
from engine.serialization import dump_state
from engine.timeline import GENESIS, event_hash
from engine.timers import pending_timers

ENGINE_EFFECTS = {"notify", "escalate"}
CASES, TASKS, TIMERS = Case.__table__, CaseTask.__table__, CaseTimer.__table__
EVENTS, NOTIFICATIONS = TimelineEvent.__table__, Notification.__table__
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


@dataclass
class StepRecorder:
    """Collects what a step did, then writes it in bulk (few statements per step, not per row).

    `ids` is given on the engine's own paths (the case is a plain, detached object whose row
    `Writes` updates); without it the recorder works on a session-attached case as before."""

    session: Session
    case: Case
    now: datetime
    actor: str
    events: list[dict[str, Any]] = field(default_factory=list)
    notification_ids: list[int] = field(default_factory=list)
    ids: IdSource | None = None
    new_tasks: list[dict[str, Any]] = field(default_factory=list)
    task_changes: dict[str, dict[str, Any]] = field(default_factory=dict)  # by spiff task id
    notifications: list[dict[str, Any]] = field(default_factory=list)
    timers: list[dict[str, Any]] | None = None  # the case's full timer set, when it changed
    timers_before: set[tuple[str, str, datetime]] | None = None
    task: Any = None  # the task row a completion is about (read with the case's open tasks)

    def event(self, kind: EventKind, payload: dict[str, Any] | None = None, actor: str | None = None) -> None:
        case = self.case
        seq = case.timeline_seq + 1
        prev = case.timeline_head or GENESIS
        who = actor or self.actor
        # Hash exactly what the database will hand back: JSON-native values only.
        body = json.loads(json.dumps(payload or {}, default=str, ensure_ascii=False))
        digest = event_hash(case.id, seq, kind.value, self.now, who, body, prev)
        self.events.append(
            {
                "case_id": case.id,
                "seq": seq,
                "kind": kind.value,
                "at": self.now,
                "actor": who,
                "payload": body,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        case.timeline_seq = seq
        case.timeline_head = digest

    def flush_events(self) -> None:
        if self.events:
            self.session.execute(insert(EVENTS), self.events)
            self.events = []


def _human_tasks(workflow: BpmnWorkflow) -> dict[str, Task]:
    return {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}


def run_engine(workflow: BpmnWorkflow, recorder: StepRecorder) -> None:
    """Run every automatic task, firing due timers, until only people or the clock can move it."""
    engine = workflow.script_engine
    workflow.refresh_timers()
    for _ in range(1000):  # a bound, so a pathological diagram cannot spin a worker forever
        workflow.do_engine_steps()
        workflow.refresh_timers()  # a timer that came due makes its event ready: go round again
        for fired in engine.fired_timers:
            recorder.event(EventKind.TIMER_FIRED, fired)
        engine.fired_timers = []
        if not workflow.get_tasks(state=TaskState.READY, manual=False):
            return
    raise RuntimeError("engine did not settle after 1000 rounds")


def _due_at(task: Task, parsed: ParsedProcess, engine: CaseScriptEngine, now: datetime) -> datetime | None:
    spec = parsed.human_tasks.get(task.task_spec.bpmn_id)
    if spec is None or not spec.due_in:
        return None
    value = engine.evaluate(task, spec.due_in)
    if not value:
        return None
    if str(value).upper().startswith("P"):
        parsed_duration = TimerEventDefinition.parse_iso_duration(str(value))
        return now + TimerEventDefinition.get_timedelta_from_start(parsed_duration, now)
    return datetime.fromisoformat(str(value))


def sync_tasks(
    workflow: BpmnWorkflow,
    parsed: ParsedProcess,
    engine: CaseScriptEngine,
    hooks: CaseHooks,
    recorder: StepRecorder,
    known: dict[str, Any],
) -> None:
    """Ready user tasks become task rows; rows whose BPMN task went away are cancelled."""
    session, case, now = recorder.session, recorder.case, recorder.now
    ready = _human_tasks(workflow)
    new_rows = []
    for spiff_id, task in ready.items():
        if spiff_id in known:
            continue
        spec = parsed.human_tasks.get(task.task_spec.bpmn_id)
        role = spec.role if spec else (task.task_spec.lane or "")
        assignment = hooks.assign(session, case, role)
        new_rows.append(
            {
                "case_id": case.id,
                "spiff_task_id": spiff_id,
                "bpmn_id": task.task_spec.bpmn_id,
                "title": spec.title if spec else task.task_spec.bpmn_id,
                "role": role,
                "organisation_id": assignment.organisation_id,
                "assignee_id": assignment.user_id,
                "form": spec.form if spec else None,
                "status": TaskStatus.OPEN,
                "created_at": now,
                "due_at": _due_at(task, parsed, engine, now),
            }
        )
        recorder.event(
            EventKind.TASK_CREATED,
            {
                "task": spiff_id,
                "element": task.task_spec.bpmn_id,
                "title": new_rows[-1]["title"],
                "role": role,
                "organisation_id": assignment.organisation_id,
                "due_at": new_rows[-1]["due_at"],
            },
        )
        if assignment.user_id is not None:
            recorder.event(EventKind.TASK_ASSIGNED, {"task": spiff_id, "user_id": assignment.user_id})
    if recorder.ids is not None:
        recorder.new_tasks.extend(new_rows)
    elif new_rows:
        session.execute(insert(TASKS), new_rows)
    for spiff_id, row in known.items():
        if spiff_id in ready or _status(recorder, row) != TaskStatus.OPEN:
            continue
        if recorder.ids is not None:
            recorder.task_changes.setdefault(spiff_id, {}).update(status=TaskStatus.CANCELLED, completed_at=now)
        else:
            row.status = TaskStatus.CANCELLED
            row.completed_at = now
        recorder.event(EventKind.TASK_CANCELLED, {"task": spiff_id, "element": row.bpmn_id})


def _status(recorder: StepRecorder, row: Any) -> str:
    return recorder.task_changes.get(row.spiff_task_id, {}).get("status", row.status)


@dataclass(frozen=True)
class OpenTask:
    """An open task row as the workflow knows it: its READY user task (rows mirror those)."""

    spiff_task_id: str
    bpmn_id: str
    status: str = TaskStatus.OPEN


def open_tasks_of(workflow: BpmnWorkflow) -> dict[str, OpenTask]:
    """The case's open task rows, read from the state instead of the database: after every step
    the open rows are exactly the READY user tasks (sync_tasks keeps it so)."""
    return {sid: OpenTask(sid, t.task_spec.bpmn_id) for sid, t in _human_tasks(workflow).items()}


def apply_effects(effects: list[Effect], hooks: CaseHooks, recorder: StepRecorder) -> None:
    """Notifications and escalations the BPMN asked for, role by role; domain effects to hooks."""
    session, case, now = recorder.session, recorder.case, recorder.now
    for index, effect in enumerate(effects):
        if effect.kind not in ENGINE_EFFECTS:
            payload = hooks.apply_effect(session, case, effect)
            recorder.event(EventKind.FLAG_SET, {"service": effect.kind, "element": effect.bpmn_id, **(payload or {})})
            continue
        roles = effect.params.get("roles") or effect.params.get("role") or []
        roles = [roles] if isinstance(roles, str) else list(roles)
        message = str(effect.params.get("message") or "")
        if effect.kind == "escalate":
            level = int(effect.params.get("level") or case.escalation_level + 1)
            case.escalation_level = max(case.escalation_level, level)
            recorder.event(
                EventKind.ESCALATED,
                {"level": level, "roles": roles, "reason": message, "element": effect.bpmn_id},
            )
        cause = f"{case.id}:{case.timeline_seq}:{index}:{effect.bpmn_id}"
        rows = [
            {
                "case_id": case.id,
                "role": r.role,
                "organisation_id": r.organisation_id,
                "user_id": r.user_id,
                "channel": "inbox",
                "subject": f"[{case.number}] {message}"[:200],
                "body": message,
                "dedupe_key": f"{cause}:{r.role}:{r.organisation_id}:{r.user_id}:inbox",
                "status": "queued",
                "attempts": 0,
                "created_at": now,
            }
            for role in roles
            for r in hooks.recipients(session, case, role)
        ]
        ids: list[int] = []
        if rows and recorder.ids is not None:
            ids = recorder.ids.take(NOTIFICATIONS.name, len(rows))
            for row, nid in zip(rows, ids, strict=True):
                row["id"] = nid
            recorder.notifications.extend(rows)
            recorder.notification_ids.extend(ids)
        elif rows:
            ids = list(session.scalars(insert(Notification).returning(Notification.id), rows))
            recorder.notification_ids.extend(ids)
        recorder.event(
            EventKind.NOTIFICATION_QUEUED,
            {"roles": roles, "message": message, "element": effect.bpmn_id, "notifications": ids},
        )


def timer_set(workflow: BpmnWorkflow) -> set[tuple[str, str, datetime]]:
    return set(pending_timers(workflow)) if not workflow.completed else set()


def sync_timers(workflow: BpmnWorkflow, recorder: StepRecorder, new_case: bool = False) -> datetime | None:
    """The due-time table follows the workflow; rewritten only when the set of timers changed."""
    session, case = recorder.session, recorder.case
    pending = timer_set(workflow)
    rows = [
        {"case_id": case.id, "spiff_task_id": tid, "bpmn_id": bpmn_id, "fire_at": due}
        for tid, bpmn_id, due in sorted(pending, key=lambda p: (p[2], p[0]))
    ]
    if recorder.ids is not None:
        if new_case or recorder.timers_before is None or pending != recorder.timers_before:
            recorder.timers = rows
    else:
        if not new_case:
            session.execute(delete(CaseTimer).where(CaseTimer.case_id == case.id))
        if rows:
            session.execute(insert(TIMERS), rows)
    return min((due for _, _, due in pending), default=None)


def finish_step(
    workflow: BpmnWorkflow,
    parsed: ParsedProcess,
    engine: CaseScriptEngine,
    hooks: CaseHooks,
    recorder: StepRecorder,
    known: dict[str, Any],
    new_case: bool = False,
) -> None:
    apply_effects(engine.effects, hooks, recorder)
    engine.effects = []
    case = recorder.case
    if workflow.completed and case.status == CaseStatus.OPEN:
        sync_tasks(workflow, parsed, engine, hooks, recorder, known)
        last = workflow.last_task
        outcome = workflow.data.get("closed_as") or (last.data.get("closed_as") if last else None)
        case.status = CaseStatus.CLOSED
        case.closed_at = recorder.now
        case.close_reason = str(outcome) if outcome else "completed"
        case.open_key = None
        recorder.event(EventKind.CASE_CLOSED, {"outcome": case.close_reason})
    else:
        sync_tasks(workflow, parsed, engine, hooks, recorder, known)
    sync_timers(workflow, recorder, new_case)
    case.state = dump_state(workflow)
    if recorder.ids is None:
        recorder.flush_events()


def open_task_rows(session: Session, case_id: int) -> dict[str, CaseTask]:
    rows = session.scalars(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.status == TaskStatus.OPEN))
    return {row.spiff_task_id: row for row in rows}


def case_values(case: Case) -> dict[str, Any]:
    """The column values set on a new, detached Case, for a Core INSERT (columns left unset get
    their defaults, also ones other packages add later)."""
    state = case.__dict__
    return {c.key: state[c.key] for c in CASES.columns if c.key in state}


# Every listed case row was last written by this transaction (xmin is our transaction id). The
# engine's transactions use no savepoints: a row written inside one would carry the sub-xid.
_WROTE_ALL = text(
    "SELECT 1 / CASE WHEN count(*) = :n THEN 1 ELSE 0 END FROM cases "
    "WHERE id = ANY(CAST(:ids AS integer[])) AND xmin::text = (pg_current_xact_id()::text::bigint % 4294967296)::text"
)


class StaleCase(Exception):
    """A case row changed between our read and our write (the version column said so)."""


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

        On PostgreSQL all of it goes out in one pipeline: one round trip. The case UPDATEs carry the
        version they read; that each matched is checked by row count (SQLite) or, as a pipeline
        reports no row counts, by the database itself (_WROTE_ALL)."""
        statements = 0
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for step in self.steps:
            if step.case.id in self.versions:
                version, columns = self.versions[step.case.id]
                values = {k: getattr(step.case, k) for k in columns}
                values["b_id"], values["b_version"] = step.case.id, version
                updates.setdefault(columns, []).append(values)
        dialect = session.get_bind().dialect
        postgres = dialect.name == "postgresql"
        session.flush()  # ORM changes (a domain effect's) before, not inside, the pipeline

        def update_cases() -> None:
            nonlocal statements
            for rows in updates.values():
                stmt = (
                    update(CASES)
                    .where(CASES.c.id == bindparam("b_id"), CASES.c.version == bindparam("b_version"))
                    .values(version=CASES.c.version + 1)  # the other SET columns come from the rows' keys
                )
                result = session.execute(stmt, rows)
                statements += 1
                if postgres:
                    # Row counts are not reported inside a pipeline: the database checks instead
                    # that this transaction wrote every one of the rows, else division by zero.
                    ids = [r["b_id"] for r in rows]
                    session.execute(_WROTE_ALL, {"ids": ids, "n": len(ids)})
                    statements += 1
                elif (len(rows) == 1 or dialect.supports_sane_multi_rowcount) and result.rowcount != len(rows):
                    raise StaleCase("a case was changed by someone else at the same time")

        def run(stmt: Any, rows: list[dict[str, Any]]) -> None:
            nonlocal statements
            if rows:
                session.execute(stmt, rows)
                statements += 1

        with _pipeline(session):
            update_cases()
            run(insert(CASES).inline(), [case_values(c) for c in self.new_cases])
            groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for step in self.steps:
                for spiff_id, change in step.task_changes.items():
                    groups.setdefault(tuple(sorted(change)), []).append({"b_sid": spiff_id, **change})
            for rows in groups.values():
                run(update(TASKS).where(TASKS.c.spiff_task_id == bindparam("b_sid")), rows)
            run(insert(TASKS).inline(), [row for step in self.steps for row in step.new_tasks])
            run(insert(NOTIFICATIONS).inline(), [row for step in self.steps for row in step.notifications])
            rewritten = [s.case.id for s in self.steps if s.timers is not None and s.case.id in self.versions]
            if rewritten:
                session.execute(delete(TIMERS).where(TIMERS.c.case_id.in_(rewritten)))
                statements += 1
            run(insert(TIMERS).inline(), [row for step in self.steps if step.timers for row in step.timers])
            run(insert(EVENTS).inline(), [row for step in self.steps for row in step.events])
        for step in self.steps:
            if step.case.id in self.versions:
                step.case.version = self.versions[step.case.id][0] + 1
        for step in self.steps:
            step.events = []
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

    raw = connection.connection.dbapi_connection
    try:
        with raw.pipeline():  # type: ignore[union-attr]
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
