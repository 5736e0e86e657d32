"""The case engine's public operations: start (one case or a burst), complete a task, correlate a
message, fire timers, record, escalate, assign, cancel. Each is one transaction; the hot ones
(starts and steps) are computed in memory (engine.steps, engine.starts) and written by
engine.writes.Writes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from engine.core import EngineCore
from engine.definitions import parsed_definition
from engine.incidents import CaseFailed, end_open_work, mark_failed
from engine.limits import find_stop
from engine.models import Case, CaseStatus, CaseTask, EventKind, TaskStatus
from engine.numbers import MissingSequence
from engine.recorder import StepRecorder
from engine.sandbox import ScriptStopped
from engine.serialization import load_state
from engine.services import ServiceCall
from engine.starts import AlreadyOpen, CaseStart, StartBatch
from engine.steps import OpenedTask, before_step, finish_step, opened_tasks, run_engine
from engine.timeline_store import append_entries
from engine.timer_batch import Pace, TimerBatch, fill
from engine.writes import CASES, TASKS, Writes
from forms.validation import validate_form
from infra.errors import Conflict, NotFound

T = TypeVar("T")
log = logging.getLogger(__name__)


class _Abandoned(Exception):
    """A timer batch given up before its commit (the scheduler is stopping): nothing is written."""


# The task columns a completion reads with the case row.
_TASK_COLUMNS = ("id", "spiff_task_id", "bpmn_id", "title", "form", "status", "completed_by")

# Built once (they run on every step): the case row locked by its id, or by one of its tasks with
# that task's columns read along.
_LOCK_CASE = select(CASES).where(CASES.c.id == bindparam("case_id")).with_for_update()
_LOCK_BY_TASK = (
    select(CASES, *(TASKS.c[k].label(f"task_{k}") for k in _TASK_COLUMNS))
    .join(TASKS, TASKS.c.case_id == CASES.c.id)
    .where(TASKS.c.id == bindparam("task_id"))
    .with_for_update(of=CASES)
)


@dataclass(frozen=True)
class StepOutcome:
    """A completion's case, the tasks its step opened on that case (in the order opened), and
    whether tasks opened before the step are still open on it (a parallel branch's): without
    them, the opened ones are every open task of the case, and the caller's next task is among
    them, found without a look-up of the task list."""

    case: Case
    opened: list[OpenedTask]
    others_open: bool = True


@dataclass(frozen=True)
class TaskRef:
    id: int
    spiff_task_id: str
    bpmn_id: str
    title: str
    form: str | None
    status: str
    completed_by: str | None


class CaseEngine(EngineCore):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timer_pace = Pace()  # how much a timer batch stepped ahead takes, how early it is written

    def _after_commit(self, recorder: StepRecorder) -> None:
        queued = recorder.queued_notices()
        if queued is not None:
            self.notifications_queued([queued])

    def _step(
        self,
        case_id: int | None,
        actor: str,
        act: Callable[[BpmnWorkflow, StepRecorder, Session], None],
        *,
        task_id: int | None = None,
        opened: list[OpenedTask] | None = None,
        still_open: list[str] | None = None,
    ) -> Case:
        """Lock the case (found by its id, or by one of its tasks), act, run, write it all back. A
        step that a limit stops is rolled back and the case becomes an incident (CaseFailed).
        `opened`, if given, receives the task rows the step opened, once committed; `still_open`
        the spiff ids of the tasks open before the step that are open after it."""
        found: list[Case] = []
        try:
            return self._run_step(case_id, actor, act, task_id, found, opened, still_open)
        except Exception as err:
            stop = find_stop(err)
            if stop is None or not found:
                raise
            log.warning("case %s stopped at %s: %s", found[0].number, stop.element, stop.reason)
            self._record_incident(found[0].id, stop, actor)
            raise CaseFailed(found[0].id, found[0].number, stop) from err

    def _run_step(
        self,
        case_id: int | None,
        actor: str,
        act: Callable[[BpmnWorkflow, StepRecorder, Session], None],
        task_id: int | None,
        found: list[Case],
        opened: list[OpenedTask] | None = None,
        still_open: list[str] | None = None,
    ) -> Case:
        with self._transaction() as session:
            conn = session.connection()  # Core: the ORM's execute path is not needed for rows
            if task_id is not None:  # the case row locked, the task's row read along with it
                row = conn.execute(_LOCK_BY_TASK, {"task_id": task_id}).one_or_none()
            else:
                row = conn.execute(_LOCK_CASE, {"case_id": case_id}).one_or_none()
            if row is None:
                raise NotFound(f"task {task_id} not found" if task_id is not None else f"case {case_id} not found")
            values = row._mapping
            case = Case(**{c.key: values[c] for c in CASES.columns})
            if case.status != CaseStatus.OPEN:
                raise Conflict(f"case {case.number} is {case.status}")
            found.append(case)
            definition = self.definition(session, case.definition_id)
            parsed = parsed_definition(definition)
            engine = self.script_engine()
            recorder = StepRecorder(session, case, self.clock.now(), actor, ids=self.ids.source(session))
            # The workflow this process left after the case's last step, when the state locked
            # now is exactly what that step wrote (engine.workflow_cache); else restored from it.
            kept = self.workflows.take(case.id, case.state)
            if kept is not None:
                workflow = kept.workflow
                workflow.script_engine = engine
                known: dict[str, Any] = dict(kept.open_tasks)
                recorder.timers_before = set(kept.timers)
            else:
                workflow = load_state(case.state, parsed.spec, parsed.subprocess_specs, engine)
                known, recorder.timers_before = before_step(workflow)
            if task_id is not None:
                recorder.task = TaskRef(**{k: values[f"task_{k}"] for k in _TASK_COLUMNS})
            act(workflow, recorder, session)
            run_engine(workflow, recorder)
            finish_step(workflow, parsed, engine, self.hooks, recorder, known)
            writes = Writes()
            writes.add(recorder, version=row.version)
            writes.flush(session)
        if recorder.kept is not None:  # committed: the next step here may start from it
            self.workflows.keep(case.id, recorder.kept)
        if opened is not None:
            opened.extend(opened_tasks(recorder))
        if still_open is not None:  # neither completed nor cancelled by the step (engine.steps.sync_tasks)
            changes = recorder.task_changes
            still_open.extend(
                sid for sid, row in known.items() if changes.get(sid, {}).get("status", row.status) == TaskStatus.OPEN
            )
        self._after_commit(recorder)
        return case

    def _record_incident(self, case_id: int, stop: ScriptStopped, actor: str) -> None:
        """In a transaction of its own, after the stopped step's was rolled back."""
        with self._transaction() as session:
            case = self._lock_case(session, case_id)
            if case.status != CaseStatus.OPEN:
                return  # someone else finished or failed it meanwhile
            recorder = StepRecorder(session, case, self.clock.now(), actor)
            end_open_work(session, case, recorder)
            mark_failed(recorder, stop)
            Writes(steps=[recorder]).flush(session)

    def run_batch(self, work: Callable[[StartBatch], T], *, attempts: int = 5) -> T:
        """Run `work` in one transaction with a StartBatch; notifications are queued after the
        commit. A lost race (another process opened the same case first), a deadlock between two
        bursts or a vanished number sequence rolls everything back, and `work` runs again."""
        for attempt in range(1, attempts + 1):
            try:
                with self._transaction() as session:
                    batch = StartBatch(self, session)
                    result = work(batch)
            except (MissingSequence, IntegrityError, DBAPIError) as err:
                if attempt == attempts or not _retryable(err):
                    raise
                log.info("batch rolled back and retried (attempt %d): %s", attempt, str(err).splitlines()[0])
                continue
            for case_id, kept in batch.kept:  # committed: a first step here starts from them
                self.workflows.keep(case_id, kept)
            if batch.notification_batches:
                self.notifications_queued(batch.notification_batches)
            return result
        raise AssertionError("unreachable")

    # -- operations -------------------------------------------------------------------------
    def start_case(self, start: CaseStart) -> Case:
        """The new case; AlreadyOpen, or CaseFailed when a limit stopped its first run (the case
        was kept as an incident: `case_id` names it)."""
        stops: dict[int, ScriptStopped] = {}

        def work(batch: StartBatch) -> Case | AlreadyOpen:
            stops.clear()  # a retried batch starts over
            outcome = batch.start([start])[0]
            stops.update(batch.stops)
            return outcome

        outcome = self.run_batch(work)
        if isinstance(outcome, AlreadyOpen):
            raise outcome
        if outcome.id in stops:
            raise CaseFailed(outcome.id, outcome.number, stops[outcome.id])
        return outcome

    def start_cases(self, starts: Sequence[CaseStart]) -> list[Case | AlreadyOpen]:
        """Start many cases in one transaction (a burst of warnings): each start is a new case, or
        AlreadyOpen when a case with its correlation key is open (also an earlier one in `starts`)."""
        return self.run_batch(lambda batch: batch.start(starts))

    def find_open(self, correlation_key: str) -> int | None:
        with self.sessions() as session:
            return session.scalar(select(Case.id).where(Case.open_key == correlation_key))

    def complete_task(self, task_id: int, data: dict[str, Any], *, actor: str) -> Case:
        return self.complete_and_next(task_id, data, actor=actor).case

    def complete_and_next(self, task_id: int, data: dict[str, Any], *, actor: str) -> StepOutcome:
        """complete_task, answering also the tasks its step opened on the case (committed with it;
        the caller still decides which of them the person may see)."""

        def act(workflow: BpmnWorkflow, recorder: StepRecorder, session: Session) -> None:
            task_row = recorder.task
            if task_row is None or task_row.status != TaskStatus.OPEN:
                who = f" by {task_row.completed_by}" if task_row is not None and task_row.completed_by else ""
                raise Conflict(f"task {task_id} is already {task_row.status if task_row else 'gone'}{who}")
            definition = self.definition(session, recorder.case.definition_id)
            validate_form(definition.forms.get(task_row.form) if task_row.form else None, data)
            task = workflow.get_task_from_id(UUID(task_row.spiff_task_id))
            if task is None or task.state != TaskState.READY:
                # The row read with the lock may predate the step that just finished it.
                raise Conflict(f"task {task_id} is already completed or cancelled (no longer waiting for input)")
            task.data.update(data)
            task.run()
            recorder.task_changes[task_row.spiff_task_id] = {
                "status": TaskStatus.COMPLETED,
                "completed_at": recorder.now,
                "completed_by": actor,
                "data": data,
            }
            milestones = dict(recorder.case.milestones or {})
            milestones.setdefault(task_row.bpmn_id, recorder.now.isoformat())
            recorder.case.milestones = milestones
            recorder.event(
                EventKind.TASK_COMPLETED,
                {
                    "task": task_row.spiff_task_id,
                    "element": task_row.bpmn_id,
                    "title": task_row.title,
                    "data": data,
                },
            )

        opened: list[OpenedTask] = []
        still_open: list[str] = []
        case = self._step(None, actor, act, task_id=task_id, opened=opened, still_open=still_open)
        return StepOutcome(case, opened, others_open=bool(still_open))

    def correlate_message(
        self, correlation_key: str, message: str, payload: dict[str, Any], *, actor: str = "system"
    ) -> Case | None:
        """Deliver a BPMN message to the open case with this key; None when no case is open."""
        case_id = self.find_open(correlation_key)
        if case_id is None:
            return None

        def act(workflow: BpmnWorkflow, recorder: StepRecorder, session: Session) -> None:
            event = BpmnEvent(MessageEventDefinition(message), payload)
            caught = workflow.event_manager.catch(event, internal=False)
            recorder.event(EventKind.MESSAGE_RECEIVED, {"message": message, "payload": payload, "caught": bool(caught)})

        return self._step(case_id, actor, act)

    def fire_timers(self, case_id: int) -> Case:
        """Fire whatever timers of this one case are due now."""
        return self._step(case_id, "timer", lambda *_: None)

    def fire_due(
        self,
        *,
        limit: int = 500,
        chunk: int = 100,
        lookahead: timedelta = timedelta(0),
        wait_until: Callable[[datetime], bool] | None = None,
    ) -> TimerBatch:
        """One batch of due timers (engine.timer_batch; the scheduler calls this): claimed,
        stepped, written and committed in one transaction, never before the latest due time it
        stepped. With a `lookahead`, cases due that far ahead are stepped now and committed at
        their time. `wait_until(t)` waits until the clock reads t (False: give up, write nothing).
        After the commit the notifications are handed on and stopped cases become incidents."""
        wait = wait_until or self._wait_until
        wrote = 0.0
        try:
            with self._transaction() as session:
                batch = TimerBatch(self, session)
                pace = self.timer_pace
                fill(batch, now=self.clock.now, lookahead=lookahead, chunk=chunk, limit=limit, pace=pace)
                if batch.commit_at is not None and not wait(batch.commit_at - pace.lead(batch.fired)):
                    raise _Abandoned
                started = time.monotonic()
                batch.write(self.clock.now())
                wrote = time.monotonic() - started
                pace.observe_write(batch.fired, wrote)
                if batch.commit_at is not None and not wait(batch.commit_at):
                    raise _Abandoned
        except _Abandoned:  # rolled back: the claims are released, every case is still due
            batch.stepped.clear()
            batch.stops.clear()
            batch.failed.clear()
            return batch
        if batch.commit_at is not None:
            log.debug("timer batch: %d cases stepped, %d left to the next pass, written in %.2f s, visible %.2f s "
                      "after its due time", batch.fired, batch.skipped, wrote,
                      (self.clock.now() - batch.commit_at).total_seconds())  # fmt: skip
        if batch.notification_batches:
            try:
                self.notifications_queued(batch.notification_batches)
            except Exception as err:  # committed: the periodic retry hands the notices on
                why = (str(err).splitlines() or [type(err).__name__])[0]
                cases = len(batch.notification_batches)
                log.warning("notices of %d cases committed but not queued for delivery (%s); the retry job takes them",
                            cases, why)  # fmt: skip
        for case_id, (number, stop) in batch.stops.items():
            log.warning("case %s stopped at %s: %s", number, stop.element, stop.reason)
            try:
                self._record_incident(case_id, stop, "timer")
            except Exception as err:
                batch.failed[case_id] = err  # its timers are still due: the next pass tries again
        return batch

    def _wait_until(self, moment: datetime) -> bool:
        while (left := (moment - self.clock.now()).total_seconds()) > 0:
            time.sleep(min(left, 0.01))
        return True

    def record(self, case_id: int, kind: EventKind, payload: dict[str, Any], *, actor: str = "system") -> None:
        """Append an event that is not an engine step (a comment, a signal joined) in its own transaction."""
        with self._transaction() as session:
            append_entries(session, [(case_id, kind, payload, actor)], self.clock.now())

    def cancel_case(self, case_id: int, reason: str, *, actor: str) -> Case:
        """Cancel an open case, or close an incident (a failed case) after an operator dealt with it."""
        with self._transaction() as session:
            case = self._lock_case(session, case_id)
            if case.status not in (CaseStatus.OPEN, CaseStatus.FAILED):
                raise Conflict(f"case {case.number} is already {case.status}")
            recorder = StepRecorder(session, case, self.clock.now(), actor)
            end_open_work(session, case, recorder)
            case.status = CaseStatus.CANCELLED
            case.closed_at = recorder.now
            case.close_reason = reason
            case.open_key = None
            recorder.event(EventKind.CASE_CANCELLED, {"reason": reason})
            Writes(steps=[recorder]).flush(session)  # the ORM's changes, then the entries
        return case

    def escalate(self, case_id: int, *, roles: list[str], reason: str, actor: str, level: int | None = None) -> Case:
        """A person raises the case a level (a regulator's manual escalation): the same effect as
        a BPMN escalate step, so the same recipients are told and the timeline reads the same."""

        def act(workflow: BpmnWorkflow, recorder: StepRecorder, session: Session) -> None:
            params = {"roles": roles, "message": reason, "level": level or recorder.case.escalation_level + 1}
            self.services.apply([ServiceCall("escalate", params, "manual")], recorder)

        return self._step(case_id, actor, act)

    def assign_task(self, task_id: int, user_id: int | None, *, actor: str, undo: bool = False) -> CaseTask:
        """Claim, release or hand over an open task; the change is on the case timeline. `undo`:
        the release takes back the actor's own claim a moment ago (its own entry says so; the
        claim's entry stays)."""
        with self._transaction() as session:
            row = session.get(CaseTask, task_id)
            if row is None:
                raise NotFound(f"task {task_id} not found")
            case = self._lock_case(session, row.case_id)
            session.refresh(row)
            if row.status != TaskStatus.OPEN:
                raise Conflict(f"task {task_id} is already {row.status}")
            row.assignee_id = user_id
            recorder = StepRecorder(session, case, self.clock.now(), actor)
            payload = {"task": row.spiff_task_id, "element": row.bpmn_id, "title": row.title, "assignee_id": user_id}
            recorder.event(EventKind.TASK_ASSIGNED, payload | ({"undo": True} if undo else {}))
            Writes(steps=[recorder]).flush(session)  # the ORM's changes, then the entry
        return row


def _retryable(err: Exception) -> bool:
    if isinstance(err, MissingSequence):
        return True
    if isinstance(err, IntegrityError):
        return "open_key" in str(err.orig)  # lost the race to open the same case: the retry joins it
    # deadlock between two bursts, or a serialization failure
    return isinstance(err, DBAPIError) and getattr(err.orig, "sqlstate", None) in ("40P01", "40001")
