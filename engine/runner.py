"""The case engine's public operations: start, complete a task, correlate a message, fire timers, cancel."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.clock import Clock
from engine.definitions import latest_definition, parsed_definition
from engine.hooks import CaseHooks
from engine.jobs import JobQueue
from engine.models import (
    Case,
    CaseCounter,
    CaseStatus,
    CaseTask,
    CaseTimer,
    EventKind,
    ProcessDefinition,
    TaskStatus,
)
from engine.scripting import CaseScriptEngine, Effect, ServiceRegistry
from engine.serialization import load_state
from engine.steps import StepRecorder, apply_effects, finish_step, open_task_rows, run_engine
from forms.validation import validate_form

# Case numbers carry the local (Beijing) date, as people read them.
_SHANGHAI = ZoneInfo("Asia/Shanghai")


class EngineError(Exception):
    pass


class NotFound(EngineError):
    pass


class Conflict(EngineError):
    """Someone else changed the case first (the task is already done, or the case moved on)."""


class AlreadyOpen(EngineError):
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
        jobs: JobQueue,
        services: ServiceRegistry | None = None,
        script_time_limit: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.hooks = hooks
        self.jobs = jobs
        self.services = _builtin_services()
        for name, handler in (services.handlers if services else {}).items():
            self.services.register(name, handler)
        self.script_time_limit = script_time_limit

    # -- plumbing ---------------------------------------------------------------------------
    def script_engine(self) -> CaseScriptEngine:
        return CaseScriptEngine(self.clock, self.services, self.script_time_limit)

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        session = self.sessions()
        try:
            with session.begin():
                yield session
        except StaleDataError as err:
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
            self.jobs.enqueue("send_notifications", recorder.notification_ids)

    def _step(
        self,
        case_id: int,
        actor: str,
        act: Callable[[BpmnWorkflow, StepRecorder, Session], None],
    ) -> Case:
        with self._transaction() as session:
            case = self._lock_case(session, case_id)
            if case.status != CaseStatus.OPEN:
                raise Conflict(f"case {case.number} is {case.status}")
            definition = session.get(ProcessDefinition, case.definition_id)
            parsed = parsed_definition(definition)
            engine = self.script_engine()
            workflow = load_state(case.state, parsed.spec, parsed.subprocess_specs, engine)
            recorder = StepRecorder(session, case, self.clock.now(), actor)
            known = open_task_rows(session, case.id)
            act(workflow, recorder, session)
            run_engine(workflow, recorder)
            finish_step(workflow, parsed, engine, self.hooks, recorder, known)
        self._after_commit(recorder)
        return case

    def _next_number(self, session: Session, case_type: str) -> str:
        local_day = self.clock.now().astimezone(_SHANGHAI).strftime("%Y%m%d")
        prefix = f"{self.hooks.number_prefix(case_type)}-{local_day}"
        dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(CaseCounter).values(prefix=prefix, last=1)
        stmt = stmt.on_conflict_do_update(index_elements=["prefix"], set_={"last": CaseCounter.last + 1})
        last = session.scalar(stmt.returning(CaseCounter.last))
        return f"{prefix}-{last:04d}"

    # -- operations -------------------------------------------------------------------------
    def start_case(self, start: CaseStart) -> Case:
        now = self.clock.now()
        try:
            with self._transaction() as session:
                definition = latest_definition(session, start.process_key)
                if definition is None:
                    raise NotFound(f"no deployed process {start.process_key!r}")
                parsed = parsed_definition(definition)
                engine = self.script_engine()
                workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
                workflow.task_tree.data.update(start.variables)
                for task in workflow.get_tasks(state=TaskState.READY):
                    task.data.update(start.variables)
                case = Case(
                    number=self._next_number(session, start.case_type),
                    case_type=start.case_type,
                    definition_id=definition.id,
                    elevator_id=start.elevator_id,
                    district_code=start.district_code,
                    status=CaseStatus.OPEN,
                    priority=start.priority,
                    correlation_key=start.correlation_key,
                    open_key=start.correlation_key,
                    opened_at=now,
                    variables=start.variables,
                    milestones={},
                    state="",
                    escalation_level=1,
                    timeline_seq=0,
                    timeline_head="",
                )
                session.add(case)
                session.flush()
                recorder = StepRecorder(session, case, now, start.actor)
                recorder.event(
                    EventKind.CASE_OPENED,
                    {
                        "number": case.number,
                        "type": start.case_type,
                        "process": definition.key,
                        "version": definition.version,
                        "priority": start.priority,
                        "variables": start.variables,
                    },
                )
                run_engine(workflow, recorder)
                finish_step(workflow, parsed, engine, self.hooks, recorder, {}, new_case=True)
        except IntegrityError as err:
            if start.correlation_key and "open_key" in str(err.orig):
                existing = self.find_open(start.correlation_key)
                raise AlreadyOpen(start.correlation_key, existing) from err
            raise
        self._after_commit(recorder)
        return case

    def find_open(self, correlation_key: str) -> int | None:
        with self.sessions() as session:
            return session.scalar(select(Case.id).where(Case.open_key == correlation_key))

    def complete_task(self, task_id: int, data: dict[str, Any], *, actor: str) -> Case:
        with self.sessions() as session:
            row = session.get(CaseTask, task_id)
            if row is None:
                raise NotFound(f"task {task_id} not found")
            case_id = row.case_id

        def act(workflow: BpmnWorkflow, recorder: StepRecorder, session: Session) -> None:
            task_row = session.get(CaseTask, task_id)
            if task_row is None or task_row.status != TaskStatus.OPEN:
                who = f" by {task_row.completed_by}" if task_row and task_row.completed_by else ""
                raise Conflict(f"task {task_id} is already {task_row.status if task_row else 'gone'}{who}")
            definition = session.get(ProcessDefinition, recorder.case.definition_id)
            validate_form(definition.forms.get(task_row.form) if task_row.form else None, data)
            task = workflow.get_task_from_id(UUID(task_row.spiff_task_id))
            if task is None or task.state != TaskState.READY:
                raise Conflict(f"task {task_id} is no longer waiting for input")
            task.data.update(data)
            task.run()
            task_row.status = TaskStatus.COMPLETED
            task_row.completed_at = recorder.now
            task_row.completed_by = actor
            task_row.data = data
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

        return self._step(case_id, actor, act)

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
            case = self._lock_case(session, case_id)
            recorder = StepRecorder(session, case, self.clock.now(), actor)
            recorder.event(kind, payload)
            recorder.flush_events()

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
