"""The case engine's public operations: start (one case or a burst), complete a task, correlate a
message, fire timers, record, escalate, cancel. Each is one transaction; the hot ones (starts and
steps) are computed in memory and written by engine.steps.Writes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.definitions import deploy_generation, latest_definition, parsed_definition
from engine.hooks import CaseHooks
from engine.models import (
    Case,
    CaseStatus,
    CaseTask,
    CaseTimer,
    EventKind,
    ProcessDefinition,
    TaskStatus,
)
from engine.numbers import IdAllocator, MissingSequence
from engine.scripting import CaseScriptEngine, Effect, ServiceRegistry
from engine.serialization import load_state
from engine.steps import (
    CASES,
    TASKS,
    StaleCase,
    StepRecorder,
    Writes,
    apply_effects,
    finish_step,
    open_task_rows,
    open_tasks_of,
    run_engine,
    timer_set,
)
from forms.validation import validate_form
from infra.clock import Clock
from infra.errors import Conflict, NotFound
from infra.settings import CITY_TZ

# How long a process trusts its idea of a process's latest version (a deploy elsewhere shows after this).
LATEST_TTL_SECONDS = 5.0
# The task columns a completion reads with the case row.
_TASK_COLUMNS = ("id", "spiff_task_id", "bpmn_id", "title", "form", "status", "completed_by")


@dataclass(frozen=True)
class TaskRef:
    id: int
    spiff_task_id: str
    bpmn_id: str
    title: str
    form: str | None
    status: str
    completed_by: str | None


# The case columns a join (a timeline entry only) reads and writes: not the large workflow state.
_HEAD_COLUMNS = ("id", "number", "status", "version", "timeline_seq", "timeline_head")
T = TypeVar("T")
log = logging.getLogger(__name__)


class AlreadyOpen(Exception):
    """An open case with this correlation key exists; the caller joins it instead."""

    def __init__(self, correlation_key: str, case_id: int | None) -> None:
        super().__init__(f"an open case already exists for {correlation_key}")
        self.correlation_key = correlation_key
        self.case_id = case_id


@dataclass(frozen=True)
class CaseStart:
    process_key: str
    case_type: str
    variables: dict[str, Any]
    elevator_id: int | None = None
    district_code: str | None = None
    priority: str | None = None
    correlation_key: str | None = None
    actor: str = "system"


def _builtin_services() -> ServiceRegistry:
    def check_roles(params: dict[str, Any]) -> dict[str, Any]:
        roles = params.get("roles") or params.get("role")
        if not roles:
            raise ValueError("notify/escalate need a role or roles parameter")
        return {"queued": True}

    registry = ServiceRegistry()
    registry.register("notify", check_roles)
    registry.register("escalate", check_roles)
    return registry


class CaseEngine:
    def __init__(
        self,
        sessions: sessionmaker,
        clock: Clock,
        hooks: CaseHooks,
        services: ServiceRegistry | None = None,
        script_time_limit: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.hooks = hooks
        # What happens after a commit that queued notifications (the engine's outbox): the
        # application delivers them, e.g. by enqueuing jobs. Batches of notification ids.
        self.notifications_queued: Callable[[list[list[int]]], None] = lambda batches: None
        self.services = _builtin_services()
        for name, handler in (services.handlers if services else {}).items():
            self.services.register(name, handler)
        self.script_time_limit = script_time_limit
        self.ids = IdAllocator(sessions.kw["bind"])
        self._definitions: dict[int, ProcessDefinition] = {}
        self._latest_cache: dict[str, tuple[int, float, ProcessDefinition]] = {}

    # -- plumbing ---------------------------------------------------------------------------
    def script_engine(self) -> CaseScriptEngine:
        return CaseScriptEngine(self.clock, self.services, self.script_time_limit)

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        session = self.sessions()
        try:
            with session.begin():
                yield session
        except (StaleDataError, StaleCase) as err:
            raise Conflict("the case was changed by someone else at the same time; reload and retry") from err
        finally:
            session.close()

    def _lock_case(self, session: Session, case_id: int) -> Case:
        case = session.scalar(select(Case).where(Case.id == case_id).with_for_update())
        if case is None:
            raise NotFound(f"case {case_id} not found")
        return case

    def _after_commit(self, recorder: StepRecorder) -> None:
        if recorder.notification_ids:
            self.notifications_queued([recorder.notification_ids])

    def _definition(self, session: Session, definition_id: int) -> ProcessDefinition:
        """A version's row never changes, so it is read once per engine."""
        found = self._definitions.get(definition_id)
        if found is None:
            found = session.get(ProcessDefinition, definition_id)
            if found is None:
                raise NotFound(f"process definition {definition_id} not found")
            session.expunge(found)
            self._definitions[definition_id] = found
        return found

    def _latest(self, session: Session, key: str) -> ProcessDefinition:
        hit = self._latest_cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] == deploy_generation() and now < hit[1]:
            return hit[2]
        found = latest_definition(session, key)
        if found is None:
            raise NotFound(f"no deployed process {key!r}")
        session.expunge(found)
        self._definitions[found.id] = found
        self._latest_cache[key] = (deploy_generation(), now + LATEST_TTL_SECONDS, found)
        return found

    def _step(
        self,
        case_id: int | None,
        actor: str,
        act: Callable[[BpmnWorkflow, StepRecorder, Session], None],
        *,
        task_id: int | None = None,
    ) -> Case:
        """Lock the case (found by its id, or by one of its tasks), act, run, write it all back."""
        with self._transaction() as session:
            if task_id is not None:  # the case row locked, the task's row read along with it
                stmt = select(CASES, *(TASKS.c[k].label(f"task_{k}") for k in _TASK_COLUMNS)).join(
                    TASKS, TASKS.c.case_id == CASES.c.id
                )
                stmt = stmt.where(TASKS.c.id == task_id).with_for_update(of=CASES)
            else:
                stmt = select(CASES).where(CASES.c.id == case_id).with_for_update()
            row = session.execute(stmt).one_or_none()
            if row is None:
                raise NotFound(f"task {task_id} not found" if task_id is not None else f"case {case_id} not found")
            values = row._mapping
            case = Case(**{c.key: values[c] for c in CASES.columns})
            if case.status != CaseStatus.OPEN:
                raise Conflict(f"case {case.number} is {case.status}")
            definition = self._definition(session, case.definition_id)
            parsed = parsed_definition(definition)
            engine = self.script_engine()
            workflow = load_state(case.state, parsed.spec, parsed.subprocess_specs, engine)
            recorder = StepRecorder(session, case, self.clock.now(), actor, ids=self.ids.source(session))
            if task_id is not None:
                recorder.task = TaskRef(**{k: values[f"task_{k}"] for k in _TASK_COLUMNS})
            known = open_tasks_of(workflow)
            recorder.timers_before = timer_set(workflow)
            act(workflow, recorder, session)
            run_engine(workflow, recorder)
            finish_step(workflow, parsed, engine, self.hooks, recorder, known)
            writes = Writes()
            writes.add(recorder, version=row.version)
            writes.flush(session)
        self._after_commit(recorder)
        return case

    def run_batch(self, work: Callable[[StartBatch], T], *, attempts: int = 5) -> T:
        """Run `work` in one transaction with a StartBatch; notifications are queued after the
        commit. A lost race (another process opened the same case first), a deadlock between two
        bursts or a vanished number sequence rolls everything back, and `work` runs again."""
        for attempt in range(1, attempts + 1):
            batch = StartBatch(self)
            try:
                with self._transaction() as session:
                    batch.session = session
                    result = work(batch)
            except (MissingSequence, IntegrityError, DBAPIError) as err:
                if attempt == attempts or not _retryable(err):
                    raise
                log.info("batch rolled back and retried (attempt %d): %s", attempt, str(err).splitlines()[0])
                continue
            if batch.notification_batches:
                self.notifications_queued(batch.notification_batches)
            return result
        raise AssertionError("unreachable")

    # -- operations -------------------------------------------------------------------------
    def start_case(self, start: CaseStart) -> Case:
        outcome = self.start_cases([start])[0]
        if isinstance(outcome, AlreadyOpen):
            raise outcome
        return outcome

    def start_cases(self, starts: Sequence[CaseStart]) -> list[Case | AlreadyOpen]:
        """Start many cases in one transaction (a burst of warnings): each start is a new case, or
        AlreadyOpen when a case with its correlation key is open (also an earlier one in `starts`)."""
        return self.run_batch(lambda batch: batch.start(starts))

    def find_open(self, correlation_key: str) -> int | None:
        with self.sessions() as session:
            return session.scalar(select(Case.id).where(Case.open_key == correlation_key))

    def complete_task(self, task_id: int, data: dict[str, Any], *, actor: str) -> Case:
        def act(workflow: BpmnWorkflow, recorder: StepRecorder, session: Session) -> None:
            task_row = recorder.task
            if task_row is None or task_row.status != TaskStatus.OPEN:
                who = f" by {task_row.completed_by}" if task_row is not None and task_row.completed_by else ""
                raise Conflict(f"task {task_id} is already {task_row.status if task_row else 'gone'}{who}")
            definition = self._definition(session, recorder.case.definition_id)
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

        return self._step(None, actor, act, task_id=task_id)

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
        """Fire whatever timers of this case are due now (the scheduler calls this)."""
        return self._step(case_id, "timer", lambda *_: None)

    def record(self, case_id: int, kind: EventKind, payload: dict[str, Any], *, actor: str = "system") -> None:
        """Append an event that is not an engine step (a signal joined, a notification sent)."""
        with self._transaction() as session:
            StartBatch(self, session).record([(case_id, kind, payload, actor)])

    def cancel_case(self, case_id: int, reason: str, *, actor: str) -> Case:
        with self._transaction() as session:
            case = self._lock_case(session, case_id)
            if case.status != CaseStatus.OPEN:
                raise Conflict(f"case {case.number} is already {case.status}")
            recorder = StepRecorder(session, case, self.clock.now(), actor)
            for row in open_task_rows(session, case.id).values():
                row.status = TaskStatus.CANCELLED
                row.completed_at = recorder.now
                recorder.event(EventKind.TASK_CANCELLED, {"task": row.spiff_task_id, "element": row.bpmn_id})
            session.execute(delete(CaseTimer).where(CaseTimer.case_id == case.id))
            case.status = CaseStatus.CANCELLED
            case.closed_at = recorder.now
            case.close_reason = reason
            case.open_key = None
            recorder.event(EventKind.CASE_CANCELLED, {"reason": reason})
            recorder.flush_events()
        return case

    def escalate(self, case_id: int, *, roles: list[str], reason: str, actor: str, level: int | None = None) -> Case:
        """A person raises the case a level (a regulator's manual escalation): the same effect as
        a BPMN escalate step, so the same recipients are told and the timeline reads the same."""

        def act(workflow: BpmnWorkflow, recorder: StepRecorder, session: Session) -> None:
            params = {"roles": roles, "message": reason, "level": level or recorder.case.escalation_level + 1}
            apply_effects([Effect("escalate", params, "manual")], self.hooks, recorder)

        return self._step(case_id, actor, act)

    def assign_task(self, task_id: int, user_id: int | None, *, actor: str) -> CaseTask:
        """Claim, release or hand over an open task; the change is on the case timeline."""
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
            recorder.event(
                EventKind.TASK_ASSIGNED,
                {"task": row.spiff_task_id, "element": row.bpmn_id, "title": row.title, "assignee_id": user_id},
            )
            recorder.flush_events()
        return row


def _retryable(err: Exception) -> bool:
    if isinstance(err, MissingSequence):
        return True
    if isinstance(err, IntegrityError):
        return "open_key" in str(err.orig)  # lost the race to open the same case: the retry joins it
    # deadlock between two bursts, or a serialization failure
    return isinstance(err, DBAPIError) and getattr(err.orig, "sqlstate", None) in ("40P01", "40001")


@dataclass
class StartBatch:
    """One transaction's case starts and timeline entries (CaseEngine.run_batch hands one out)."""

    engine: CaseEngine
    session: Session = None  # type: ignore[assignment]  # set when the transaction begins
    notification_batches: list[list[int]] = field(default_factory=list)

    def start(self, starts: Sequence[CaseStart]) -> list[Case | AlreadyOpen]:
        """Each start becomes a case, or AlreadyOpen when its correlation key has an open case
        (in the database, or opened by an earlier start of the same batch)."""
        eng, session = self.engine, self.session
        now = eng.clock.now()
        local_day = now.astimezone(CITY_TZ).strftime("%Y%m%d")
        outcomes: list[Case | AlreadyOpen | None] = [None] * len(starts)
        first_of: dict[str, int] = {}
        fresh: list[int] = []
        for i, start in enumerate(starts):
            key = start.correlation_key
            if key and key in first_of:
                continue  # a repeat in the same burst joins the first one's case
            if key:
                first_of[key] = i
            fresh.append(i)
        # The definitions before the numbers: a start of an undeployed process takes no number.
        definitions = {p: eng._latest(session, p) for p in {starts[i].process_key for i in fresh}}
        counters = [f"{eng.hooks.number_prefix(starts[i].case_type)}-{local_day}" for i in fresh]
        claims = eng.ids.claim(session, [(starts[i].correlation_key, c) for i, c in zip(fresh, counters, strict=True)])
        new = []
        for i, counter, (open_id, suffix) in zip(fresh, counters, claims, strict=True):
            if open_id is not None:
                outcomes[i] = AlreadyOpen(starts[i].correlation_key or "", open_id)
            else:
                new.append((i, f"{counter}-{suffix:04d}"))
        ids = eng.ids.source(session)
        writes = Writes()
        for (i, number), case_id in zip(new, ids.take(CASES.name, len(new)), strict=True):
            outcomes[i] = self._open(starts[i], definitions[starts[i].process_key], case_id, number, now, ids, writes)
        writes.flush(session)
        for i, start in enumerate(starts):
            if outcomes[i] is None:
                first = outcomes[first_of[start.correlation_key or ""]]
                first_id = first.id if isinstance(first, Case) else first.case_id  # type: ignore[union-attr]
                outcomes[i] = AlreadyOpen(start.correlation_key or "", first_id)
        return outcomes  # type: ignore[return-value]

    def _open(
        self,
        start: CaseStart,
        definition: ProcessDefinition,
        case_id: int,
        number: str,
        now: Any,
        ids: Any,
        writes: Writes,
    ) -> Case:
        eng = self.engine
        parsed = parsed_definition(definition)
        script = eng.script_engine()
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=script)
        workflow.task_tree.data.update(start.variables)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(start.variables)
        case = Case(
            id=case_id,
            number=number,
            case_type=start.case_type,
            definition_id=definition.id,
            elevator_id=start.elevator_id,
            district_code=start.district_code,
            status=CaseStatus.OPEN,
            priority=start.priority,
            correlation_key=start.correlation_key,
            open_key=start.correlation_key,
            escalation_level=1,
            opened_at=now,
            closed_at=None,
            close_reason=None,
            variables=start.variables,
            milestones={},
            state="",
            version=1,
            timeline_seq=0,
            timeline_head="",
        )
        recorder = StepRecorder(self.session, case, now, start.actor, ids=ids)
        recorder.event(
            EventKind.CASE_OPENED,
            {
                "number": number,
                "type": start.case_type,
                "process": definition.key,
                "version": definition.version,
                "priority": start.priority,
                "variables": start.variables,
            },
        )
        run_engine(workflow, recorder)
        finish_step(workflow, parsed, script, eng.hooks, recorder, {}, new_case=True)
        writes.add(recorder, new_case=True)
        if recorder.notification_ids:
            self.notification_batches.append(recorder.notification_ids)
        return case

    def record(self, entries: Sequence[tuple[int, EventKind, dict[str, Any], str]]) -> None:
        """Append (case id, kind, payload, actor) events that are not engine steps (a signal joined,
        a notification sent): the cases are locked in id order, the large workflow state is not read."""
        session = self.session
        wanted = sorted({case_id for case_id, *_ in entries})
        rows = {
            r.id: r
            for r in session.execute(
                select(*(CASES.c[k] for k in _HEAD_COLUMNS))
                .where(CASES.c.id.in_(wanted))
                .order_by(CASES.c.id)
                .with_for_update()
            )
        }
        missing = [c for c in wanted if c not in rows]
        if missing:
            raise NotFound(f"case {missing[0]} not found")
        now = self.engine.clock.now()
        recorders: dict[int, StepRecorder] = {}
        for case_id, kind, payload, actor in entries:
            recorder = recorders.get(case_id)
            if recorder is None:
                case = Case(**rows[case_id]._mapping)
                recorder = recorders[case_id] = StepRecorder(session, case, now, actor)
            recorder.event(kind, payload, actor=actor)
        writes = Writes()
        for case_id, recorder in recorders.items():
            writes.add(recorder, version=rows[case_id].version, columns=("timeline_seq", "timeline_head"))
        writes.flush(session)
