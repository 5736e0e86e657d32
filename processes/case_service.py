"""Reads of cases and tasks for people: filtered, paged and always within the caller's scope.
No side effects; the engine (engine/runner.py) does the writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import BindParameter, Select, bindparam, exists, or_, select
from sqlalchemy.orm import Session, defer

from engine.definitions import parsed_definition
from engine.models import Case, CaseStatus, CaseTask, Notification, ProcessDefinition, TaskStatus
from engine.runner import StepOutcome
from engine.serialization import load_state
from infra.errors import NotFound
from processes.catalogue import CASE_TYPES
from processes.models import Attachment, CaseComment
from processes.sla_state import milestone_states
from processes.visibility import (
    SCOPES_KEPT,
    TASK_ACTIONABLE,
    TASK_TAKEABLE,
    TaskLike,
    actionable_params,
    cases_visible,
    may_take,
    next_first,
    tasks_actionable,
)
from registry.equipment.models import Equipment, EquipmentStatus
from registry.models import Elevator, Organisation, User
from registry.scope import Scope, elevators_visible, equipment_visible

# People's reads never need the serialised workflow (about 23 KB a rescue): it is loaded only
# when touched (the diagram), never with a page of cases.
WITHOUT_STATE = defer(Case.state)


@dataclass(frozen=True)
class CaseFilters:
    case_type: str | None = None
    status: str | None = None
    district: str | None = None
    elevator_id: int | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    overdue: bool | None = None
    number: str | None = None
    priority: str | None = None
    # What the case is about: "elevator", or a class of the other special equipment (registry/equipment).
    equipment_class: str | None = None
    equipment_id: int | None = None


ELEVATOR_CLASS = "elevator"


def overdue_condition(now: datetime) -> Any:
    return exists().where(CaseTask.case_id == Case.id, CaseTask.status == TaskStatus.OPEN, CaseTask.due_at < now)


def case_query(scope: Scope, filters: CaseFilters, now: datetime) -> Select[Case]:
    stmt = select(Case).options(WITHOUT_STATE).where(cases_visible(scope))
    f = filters
    if f.case_type:
        stmt = stmt.where(Case.case_type == f.case_type)
    if f.status:
        stmt = stmt.where(Case.status == f.status)
    if f.district:
        stmt = stmt.where(Case.district_code == f.district)
    if f.elevator_id is not None:
        stmt = stmt.where(Case.elevator_id == f.elevator_id)
    if f.equipment_id is not None:
        stmt = stmt.where(Case.equipment_id == f.equipment_id)
    if f.equipment_class == ELEVATOR_CLASS:
        stmt = stmt.where(Case.elevator_id.is_not(None))
    elif f.equipment_class:
        of_class = select(Equipment.id).where(Equipment.equipment_class == f.equipment_class)
        stmt = stmt.where(Case.equipment_id.in_(of_class))
    if f.opened_from:
        stmt = stmt.where(Case.opened_at >= f.opened_from)
    if f.opened_to:
        stmt = stmt.where(Case.opened_at < f.opened_to)
    if f.priority:
        stmt = stmt.where(Case.priority == f.priority)
    if f.number:
        stmt = stmt.where(Case.number.startswith(f.number))
    if f.overdue is True:
        stmt = stmt.where(Case.status == CaseStatus.OPEN, overdue_condition(now))
    elif f.overdue is False:
        stmt = stmt.where(~overdue_condition(now))
    return stmt


@lru_cache(maxsize=SCOPES_KEPT)  # built once per scope (visibility.py says why); ids bound per call
def _cases_among(scope: Scope) -> Select[Case]:
    return (
        select(Case).options(WITHOUT_STATE).where(Case.id.in_(bindparam("ids", expanding=True)), cases_visible(scope))
    )


@lru_cache(maxsize=SCOPES_KEPT)
def _tasks_actionable_among(scope: Scope) -> Select[Any]:
    return select(CaseTask.id).where(CaseTask.id.in_(bindparam("ids", expanding=True)), tasks_actionable(scope))


def visible_cases(session: Session, scope: Scope, ids: Sequence[int]) -> dict[int, Case]:
    """The cases among `ids` that the scope may see (without their workflow state), by id."""
    return {c.id: c for c in session.scalars(_cases_among(scope), {"ids": list(ids)})} if ids else {}


def actionable_among(session: Session, scope: Scope, task_ids: Sequence[int]) -> set[int]:
    """The tasks among `task_ids` that the scope may act on (organisation and role; who holds a task
    is the caller's to check)."""
    return set(session.scalars(_tasks_actionable_among(scope), {"ids": list(task_ids)})) if task_ids else set()


def visible_case(session: Session, scope: Scope, case_id: int) -> Case:
    """The case, or NotFound when it does not exist *or* is outside the scope (no leak)."""
    case = visible_cases(session, scope, [case_id]).get(case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    return case


def case_by_number(session: Session, scope: Scope, number: str) -> Case:
    case = session.scalar(select(Case).options(WITHOUT_STATE).where(Case.number == number, cases_visible(scope)))
    if case is None:
        raise NotFound(f"case {number} not found")
    return case


# A case page's reads, built once (building and keying a select cost about what running it does).
_CASE: BindParameter[int] = bindparam("case_id")
_CASE_TASKS = select(CaseTask).where(CaseTask.case_id == _CASE).order_by(CaseTask.created_at, CaseTask.id)
_COMMENTS = select(CaseComment).where(CaseComment.case_id == _CASE).order_by(CaseComment.id)
_ATTACHMENTS = select(Attachment).where(Attachment.case_id == _CASE).order_by(Attachment.id)
_TOLD = (
    select(Notification.role, Notification.organisation_id, Notification.user_id)
    .where(Notification.case_id == _CASE, Notification.channel == "inbox")
    .distinct()
)
_ORG_NAMES = select(Organisation.id, Organisation.name).where(Organisation.id.in_(bindparam("ids", expanding=True)))
_USER_NAMES = select(User.id, User.display_name).where(User.id.in_(bindparam("ids", expanding=True)))


def case_tasks(session: Session, case_id: int) -> list[CaseTask]:
    """In the order they were opened: ids come in blocks per process, so a later step in another
    API process may open a task with a lower id; the step's time orders them, the id within a step."""
    return list(session.scalars(_CASE_TASKS, {"case_id": case_id}))


def sla_of(case: Case, tasks: list[CaseTask], now: datetime) -> list[dict[str, Any]]:
    ct = CASE_TYPES.get(case.case_type)
    return [m.as_dict() for m in milestone_states(ct.milestones if ct else {}, tasks, now)]


def participants(session: Session, case: Case, tasks: list[CaseTask]) -> list[dict[str, Any]]:
    """Who is on the case, by role: organisations given tasks or told, and the people assigned."""
    pairs: dict[tuple[str, int | None], set[int]] = {}
    for t in tasks:
        pairs.setdefault((t.role, t.organisation_id), set())
        if t.assignee_id:
            pairs[(t.role, t.organisation_id)].add(t.assignee_id)
    told = session.execute(_TOLD, {"case_id": case.id})
    for role, org_id, user_id in told:
        pairs.setdefault((role, org_id), set())
        if user_id:
            pairs[(role, org_id)].add(user_id)
    org_ids = {o for _, o in pairs if o}
    user_ids = set().union(*pairs.values()) if pairs else set()
    orgs = {i: name for i, name in session.execute(_ORG_NAMES, {"ids": list(org_ids)})} if org_ids else {}
    users = {i: name for i, name in session.execute(_USER_NAMES, {"ids": list(user_ids)})} if user_ids else {}
    return [
        {
            "role": role,
            "organisation_id": org_id,
            "organisation": orgs.get(org_id) if org_id else None,
            "people": sorted(users.get(u, str(u)) for u in people),
        }
        for (role, org_id), people in sorted(pairs.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))
    ]


def diagram(session: Session, case: Case) -> dict[str, Any]:
    """The version's BPMN and which of its elements are done and which are active now."""
    definition = session.get_one(ProcessDefinition, case.definition_id)
    parsed = parsed_definition(definition)
    workflow = load_state(case.state, parsed.spec, parsed.subprocess_specs, None)
    completed: set[str] = set()
    active: set[str] = set()
    for task in workflow.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        if task.state == TaskState.COMPLETED:
            completed.add(bpmn_id)
        elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED) and case.status == CaseStatus.OPEN:
            active.add(bpmn_id)
    return {
        "process_key": definition.key,
        "version": definition.version,
        "xml": definition.bpmn_xml,
        "completed": sorted(completed - active),
        "active": sorted(active),
    }


def comments(session: Session, case_id: int) -> list[CaseComment]:
    return list(session.scalars(_COMMENTS, {"case_id": case_id}))


def attachments(session: Session, case_id: int) -> list[Attachment]:
    return list(session.scalars(_ATTACHMENTS, {"case_id": case_id}))


# -- tasks ----------------------------------------------------------------------------------------


@lru_cache(maxsize=SCOPES_KEPT)  # a statement per scope and filter, built once (visibility.py says why)
def task_query(scope: Scope, which: str, status: str | None) -> Select[CaseTask]:
    """mine: assigned to me, or open to my organisation and my roles and not taken by someone else;
    org: everything open to my organisation and roles; all: every task of the cases I can see."""
    stmt = select(CaseTask)
    if which == "mine":
        stmt = stmt.where(
            or_(
                CaseTask.assignee_id == scope.user_id,
                tasks_actionable(scope) & CaseTask.assignee_id.is_(None),
            )
        )
    elif which == "org":
        stmt = stmt.where(tasks_actionable(scope))
    else:
        stmt = stmt.where(
            or_(tasks_actionable(scope), CaseTask.case_id.in_(select(Case.id).where(cases_visible(scope))))
        )
    if status:
        stmt = stmt.where(CaseTask.status == status)
    return stmt


def visible_task(session: Session, scope: Scope, task_id: int) -> CaseTask:
    stmt = task_query(scope, "all", None).where(CaseTask.id == task_id)
    task = session.scalar(stmt)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    return task


# Two reads of the task routes, built once (TASK_ACTIONABLE takes the scope as parameters); the
# second only when a step's own tasks cannot answer (next_task_among).
# The first as a Core statement (the table's columns, not the entity): the row is read without
# the ORM's loading and identity map, and becomes a detached CaseTask (task_for_action).
_TASK_COLUMNS = CaseTask.__table__.columns
_ACTIONABLE_TASK = select(*_TASK_COLUMNS).where(CaseTask.id == bindparam("task_id"), TASK_ACTIONABLE)
_MY_NEXT_TASK = (
    select(CaseTask)
    .where(CaseTask.case_id == bindparam("case_id"), TASK_TAKEABLE)
    .order_by(CaseTask.due_at.is_(None), CaseTask.due_at, CaseTask.id)  # visibility.next_first
    .limit(1)
)


def task_for_action(session: Session, scope: Scope, task_id: int) -> tuple[CaseTask, bool]:
    """(the task, whether I may act on it); NotFound when I cannot see it. A task I may act on is
    found by one prebuilt query; only a refusal asks again whether I may see it (403 or 404)."""
    row = session.connection().execute(_ACTIONABLE_TASK, {"task_id": task_id, **actionable_params(scope)}).first()
    if row is not None:  # not in the session: the step that follows reads the task with its lock
        values = row._mapping
        return CaseTask(**{c.key: values[c] for c in _TASK_COLUMNS}), True
    return visible_task(session, scope, task_id), False


def next_task(session: Session, scope: Scope, case_id: int) -> CaseTask | None:
    """My next open task on the case (what `scope=mine` lists first for it), or None: what a
    start or a completion answers, so the caller needs no task list to go on."""
    return session.scalar(_MY_NEXT_TASK, {"case_id": case_id, **actionable_params(scope)})


def next_task_among(
    session: Session, scope: Scope, case_id: int, open_now: Sequence[TaskLike] | None
) -> TaskLike | None:
    """next_task, the same answer: from `open_now`, every open task of the case when a step just
    opened them and nothing else is open there (no query); None: next_task asks the database."""
    if open_now is None:
        return next_task(session, scope, case_id)
    mine = [task for task in open_now if may_take(scope, task)]
    return min(mine, key=next_first) if mine else None


def next_task_after(session: Session, scope: Scope, outcome: StepOutcome) -> TaskLike | None:
    """next_task after a completion: when no task open before the step is open after it, the
    tasks the step opened are all the case's open tasks and the answer is among them."""
    return next_task_among(session, scope, outcome.case.id, None if outcome.others_open else outcome.opened)


def task_form(session: Session, task: CaseTask) -> dict[str, Any] | None:
    if not task.form:
        return None
    definition = session.scalar(
        select(ProcessDefinition).join(Case, Case.definition_id == ProcessDefinition.id).where(Case.id == task.case_id)
    )
    return definition.forms.get(task.form) if definition else None


def visible_equipment(session: Session, scope: Scope, equipment_id: int) -> Equipment:
    """Other special equipment in the user's scope, not retired (a retired record gets no new case)."""
    row = session.scalar(
        select(Equipment).where(
            Equipment.id == equipment_id, equipment_visible(scope), Equipment.status != EquipmentStatus.RETIRED
        )
    )
    if row is None:
        raise NotFound(f"equipment {equipment_id} not found")
    return row


def visible_elevator(session: Session, scope: Scope, elevator_id: int) -> Elevator:
    elevator = session.scalar(select(Elevator).where(Elevator.id == elevator_id, elevators_visible(scope)))
    if elevator is None:
        raise NotFound(f"elevator {elevator_id} not found")
    return elevator


def case_subject(
    session: Session, scope: Scope, *, elevator_id: int | None, equipment_id: int | None, code: str | None
) -> dict[str, Any] | None:
    """What a case opened by hand would be about, in the user's scope: an elevator or other (not
    retired) equipment, by id or by its exact register code; None when there is no such one here."""
    code = (code or "").strip()
    elevator = None
    if elevator_id is not None or (code and equipment_id is None):
        condition = Elevator.id == elevator_id if elevator_id is not None else Elevator.register_code == code
        elevator = session.scalar(select(Elevator).where(condition, elevators_visible(scope)))
    if elevator is not None:
        return {
            "kind": "elevator", "id": elevator.id, "register_code": elevator.register_code, "name": None,
            "address": elevator.address, "equipment_class": "elevator",
            "next_inspection_due": elevator.next_inspection_due,
        }  # fmt: skip
    if equipment_id is None and not code:
        return None
    condition = Equipment.id == equipment_id if equipment_id is not None else Equipment.register_code == code
    row = session.scalar(
        select(Equipment).where(condition, equipment_visible(scope), Equipment.status != EquipmentStatus.RETIRED)
    )
    if row is None:
        return None
    return {
        "kind": "equipment", "id": row.id, "register_code": row.register_code, "name": row.name,
        "address": row.address, "equipment_class": row.equipment_class, "next_inspection_due": row.next_inspection_due,
    }  # fmt: skip
