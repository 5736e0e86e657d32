"""One engine step on one case: run the workflow, then bring its task rows, effects and timers up
to date in the step's StepRecorder.

A step is one database transaction: the serialized workflow state, the task rows, the timer
due times, the timeline events and the queued notifications are written together or not at
all. The case row is locked (PostgreSQL) and versioned (every database), so two steps on the
same case never both commit. Everything a step changes is computed in memory first and
collected by its StepRecorder (engine.recorder); engine.writes.Writes puts it in the database.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import durations
from engine.definitions import ParsedProcess
from engine.hooks import CaseHooks
from engine.models import CaseStatus, CaseTask, EventKind, TaskStatus
from engine.recorder import StepRecorder
from engine.scripting import CaseScriptEngine
from engine.serialization import dump_checked
from engine.timers import pending_timers, timers_among
from engine.workflow_cache import Kept


@dataclass(frozen=True)
class Waiting:
    """What a workflow waits for: its READY user tasks by spiff task id, and its pending timers."""

    human: dict[str, Task]
    timers: set[tuple[str, str, datetime]]


def waiting_for(workflow: BpmnWorkflow) -> Waiting:
    """One walk of the task tree for both: the same walk and order as get_tasks(state=READY,
    manual=True) and pending_timers' get_tasks(state=WAITING) (a state mask of both visits the
    same tasks), at half the cost of two walks."""
    human: dict[str, Task] = {}
    waiting: list[Task] = []
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        if task.state == TaskState.READY:
            if task.task_spec.manual:
                human[str(task.id)] = task
        else:
            waiting.append(task)
    return Waiting(human, set() if workflow.completed else set(timers_among(waiting)))


@dataclass(frozen=True)
class OpenedTask:
    """A task row a step opened, as committed (a completion or a start answers these): every column a
    task row shows but its spiff task id; a new row has no completion and no data yet."""

    id: int
    case_id: int
    bpmn_id: str
    title: str
    role: str
    organisation_id: int | None
    assignee_id: int | None
    form: str | None
    status: str
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None = None
    completed_by: str | None = None
    data: dict[str, Any] | None = None


# The columns of a new task row (sync_tasks) that OpenedTask takes (the rest have their defaults).
_OPENED_FIELDS = tuple(f.name for f in fields(OpenedTask) if f.default is MISSING)


def opened_tasks(recorder: StepRecorder) -> list[OpenedTask]:
    """The task rows the recorder's step opened, in the order opened (those given their ids)."""
    return [OpenedTask(**{k: row[k] for k in _OPENED_FIELDS}) for row in recorder.new_tasks if "id" in row]


def run_engine(workflow: BpmnWorkflow, recorder: StepRecorder) -> None:
    """Run every automatic task, firing due timers, until only people or the clock can move it.
    The script engine's RunBudget counts the tasks run and the time taken (engine.limits)."""
    engine = workflow.script_engine
    workflow.refresh_timers()
    for _ in range(1000):  # a bound, so a pathological diagram cannot spin a worker forever
        workflow.do_engine_steps(will_complete_task=engine.budget.tick)
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
        return now + durations.after(now, durations.parse_duration(str(value)))
    return datetime.fromisoformat(str(value))


def due_times(
    ready: dict[str, Task], parsed: ParsedProcess, engine: CaseScriptEngine, now: datetime, known: dict[str, Any]
) -> dict[str, datetime | None]:
    """The due time of every user task that became ready in this step (its `dueIn` expression)."""
    return {sid: _due_at(task, parsed, engine, now) for sid, task in ready.items() if sid not in known}


def sync_tasks(
    ready: dict[str, Task],
    parsed: ParsedProcess,
    due: dict[str, datetime | None],
    hooks: CaseHooks,
    recorder: StepRecorder,
    known: dict[str, Any],
) -> None:
    """Ready user tasks become task rows; rows whose BPMN task went away are cancelled."""
    session, case, now = recorder.session, recorder.case, recorder.now
    new_rows = []
    for spiff_id, task in ready.items():
        if spiff_id in known:
            continue
        spec = parsed.human_tasks.get(task.task_spec.bpmn_id)
        role = (spec.role if spec else task.task_spec.lane) or ""
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
                "due_at": due.get(spiff_id),
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
                # the on-call person it went to at once (no separate assignment entry)
                **({"assignee_id": assignment.user_id} if assignment.user_id is not None else {}),
            },
        )
    if recorder.ids is not None:  # ids known before the write: a completion can answer the next task
        for row, task_id in zip(new_rows, recorder.new_ids("case_tasks", len(new_rows)), strict=True):
            row["id"] = task_id
    recorder.new_tasks.extend(new_rows)
    for spiff_id, row in known.items():
        if spiff_id in ready or _status(recorder, row) != TaskStatus.OPEN:
            continue
        recorder.task_changes.setdefault(spiff_id, {}).update(status=TaskStatus.CANCELLED, completed_at=now)
        recorder.event(EventKind.TASK_CANCELLED, {"task": spiff_id, "element": row.bpmn_id})


def _status(recorder: StepRecorder, row: OpenTask) -> str:
    status: str = recorder.task_changes.get(row.spiff_task_id, {}).get("status", row.status)
    return status


@dataclass(frozen=True)
class OpenTask:
    """An open task row as the workflow knows it: its READY user task (rows mirror those)."""

    spiff_task_id: str
    bpmn_id: str
    status: str = TaskStatus.OPEN


def open_tasks_of(workflow: BpmnWorkflow) -> dict[str, OpenTask]:
    """The case's open task rows, read from the state instead of the database: after every step
    the open rows are exactly the READY user tasks (sync_tasks keeps it so)."""
    return before_step(workflow)[0]


def before_step(workflow: BpmnWorkflow) -> tuple[dict[str, OpenTask], set[tuple[str, str, datetime]]]:
    """A restored workflow's open task rows (open_tasks_of) and timer set (timer_set), in one walk."""
    waiting = waiting_for(workflow)
    return {sid: OpenTask(sid, t.task_spec.bpmn_id) for sid, t in waiting.human.items()}, waiting.timers


def timer_set(workflow: BpmnWorkflow) -> set[tuple[str, str, datetime]]:
    return set(pending_timers(workflow)) if not workflow.completed else set()


def sync_timers(
    workflow: BpmnWorkflow,
    recorder: StepRecorder,
    new_case: bool = False,
    pending: set[tuple[str, str, datetime]] | None = None,
) -> set[tuple[str, str, datetime]]:
    """The due-time table follows the workflow; rewritten only when the set of timers changed.
    Returns the set (the next step's `timers_before`); `pending`: timer_set(workflow), if known."""
    case = recorder.case
    if pending is None:
        pending = timer_set(workflow)
    if new_case or recorder.timers_before is None or pending != recorder.timers_before:
        recorder.timers = [
            {"case_id": case.id, "spiff_task_id": tid, "bpmn_id": bpmn_id, "fire_at": due}
            for tid, bpmn_id, due in sorted(pending, key=lambda p: (p[2], p[0]))
        ]
    return pending


def finish_step(
    workflow: BpmnWorkflow,
    parsed: ParsedProcess,
    engine: CaseScriptEngine,
    hooks: CaseHooks,
    recorder: StepRecorder,
    known: dict[str, Any],
    new_case: bool = False,
) -> None:
    """After the workflow ran: apply its service calls, bring the task rows up to date, close the
    case if the process ended, note a changed timer set and the new state. The new tasks' `dueIn`
    runs first: analysts' code that a limit stops must find no effect applied yet."""
    waiting = waiting_for(workflow)
    ready = waiting.human
    due = due_times(ready, parsed, engine, recorder.now, known)
    engine.services.apply(engine.service_calls, recorder)
    engine.service_calls = []
    case = recorder.case
    if workflow.completed and case.status == CaseStatus.OPEN:
        sync_tasks(ready, parsed, due, hooks, recorder, known)
        last = workflow.last_task
        outcome = workflow.data.get("closed_as") or (last.data.get("closed_as") if last else None)
        case.status = CaseStatus.CLOSED
        case.closed_at = recorder.now
        case.close_reason = str(outcome) if outcome else "completed"
        case.open_key = None
        recorder.event(EventKind.CASE_CLOSED, {"outcome": case.close_reason})
    else:
        sync_tasks(ready, parsed, due, hooks, recorder, known)
    timers = sync_timers(workflow, recorder, new_case, waiting.timers)
    case.state, reads_back = dump_checked(workflow)
    if reads_back:  # what the next step on this case may start from (engine.workflow_cache)
        open_now = {sid: OpenTask(sid, t.task_spec.bpmn_id) for sid, t in ready.items()}
        recorder.kept = Kept(case.state, workflow, open_now, timers)


def open_task_rows(session: Session, case_id: int) -> dict[str, CaseTask]:
    rows = session.scalars(select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.status == TaskStatus.OPEN))
    return {row.spiff_task_id: row for row in rows}
