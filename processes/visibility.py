"""Which cases and tasks a user's scope reaches, as SQL conditions applied in every query that
reads them (registry.scope does the same for elevators)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import ColumnElement, bindparam, exists, false, or_, true

from engine.models import Case, CaseTask, TaskStatus
from processes.roles import LANES
from registry.equipment.models import Equipment
from registry.models import Elevator, OrgKind
from registry.scope import Scope, elevators_visible, equipment_visible

# Built once per scope (a frozen dataclass; SQL expressions are immutable and shared safely): a
# condition cost 0.1-0.15 ms to build on every request, and a statement reused keeps its cache
# key, which SQLAlchemy otherwise walks the statement again to make. Bounded: one entry per user.
SCOPES_KEPT = 4096


@lru_cache(maxsize=SCOPES_KEPT)
def cases_visible(scope: Scope) -> ColumnElement[bool]:
    """Condition on `Case` rows: the case's elevator (or other equipment) is visible, or the user's organisation was
    given a task on it (a backup unit called in at level 2), or a district regulator's district, or
    the inspection institute whose report opened the rectification case (it may inspect outside
    its district, and reviews the case before its re-inspection task exists)."""
    if not scope.reads_cases:
        return false()
    if scope.city_wide:
        return true()
    # Correlated (on the case row only) EXISTS, not IN (subquery): OR-ed, an IN is a hashed subplan
    # PostgreSQL builds in full (every task the organisation ever had) even to check one case; an
    # EXISTS it plans both ways, probing the indexes for a few rows and hashing for many.
    conditions: list[ColumnElement[bool]] = [
        exists().where(Elevator.id == Case.elevator_id, elevators_visible(scope)).correlate_except(Elevator),
        exists().where(Equipment.id == Case.equipment_id, equipment_visible(scope)).correlate_except(Equipment),
    ]
    if scope.organisation_id is not None:  # any task of the case, not the outer query's task row
        given = exists().where(CaseTask.case_id == Case.id, CaseTask.organisation_id == scope.organisation_id)
        conditions.append(given.correlate_except(CaseTask))
    if scope.organisation_kind == OrgKind.DISTRICT_REGULATOR:
        conditions.append(Case.district_code == scope.district_code)
    if scope.organisation_kind == OrgKind.INSPECTION_AGENCY and scope.organisation_id is not None:
        issued = Case.variables["inspection_agency_id"].as_integer() == scope.organisation_id
        conditions.append((Case.case_type == "rectification") & issued)
    return or_(*conditions)


# The rule of tasks_actionable with the user's scope as parameters (actionable_params): one
# statement for every user, so the hot queries built on it are built once, at import, and their
# compiled form is reused instead of being built again on every request.
TASK_ACTIONABLE = or_(
    CaseTask.assignee_id == bindparam("act_user"),
    (CaseTask.organisation_id == bindparam("act_org")) & CaseTask.role.in_(bindparam("act_lanes", expanding=True)),
)


# What a person may take up next (the tasks `scope=mine` lists open): open, and held by them, or
# free and actionable by them. may_take is the same rule on a row already in memory.
TASK_TAKEABLE = (CaseTask.status == TaskStatus.OPEN) & or_(
    CaseTask.assignee_id == bindparam("act_user"), TASK_ACTIONABLE & CaseTask.assignee_id.is_(None)
)


class TaskLike(Protocol):
    """The columns of a task row that may_take and next_first read (a CaseTask, an OpenedTask)."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def organisation_id(self) -> int | None: ...
    @property
    def assignee_id(self) -> int | None: ...
    @property
    def due_at(self) -> datetime | None: ...


def may_take(scope: Scope, task: TaskLike) -> bool:
    """TASK_TAKEABLE in Python, SQL's NULLs included (a NULL never equals anything)."""
    if task.status != TaskStatus.OPEN:
        return False
    if task.assignee_id is not None:
        return task.assignee_id == scope.user_id
    return (
        task.organisation_id is not None
        and task.organisation_id == scope.organisation_id
        and task.role in _lanes(scope)
    )


def next_first(task: TaskLike) -> tuple[bool, datetime, int]:
    """Sort key of the order a person's tasks are listed in: soonest due first, undated last, then by id."""
    return (task.due_at is None, task.due_at or datetime.min, task.id)


def actionable_params(scope: Scope) -> dict[str, Any]:
    """TASK_ACTIONABLE's parameters: no lanes (an empty IN) or no organisation (= NULL) leaves
    only the tasks assigned to the user, as in tasks_actionable."""
    return {"act_user": scope.user_id, "act_org": scope.organisation_id, "act_lanes": _lanes(scope)}


def _lanes(scope: Scope) -> list[str]:
    return [lane for lane, role in LANES.items() if role in scope.roles]


@lru_cache(maxsize=SCOPES_KEPT)
def tasks_actionable(scope: Scope) -> ColumnElement[bool]:
    """Condition on `CaseTask` rows this user may claim or complete: assigned to them, or open to
    their organisation and one of their roles fits the task's lane."""
    lanes = _lanes(scope)
    mine = CaseTask.assignee_id == scope.user_id
    if not lanes or scope.organisation_id is None:
        return mine
    return or_(mine, (CaseTask.organisation_id == scope.organisation_id) & CaseTask.role.in_(lanes))
