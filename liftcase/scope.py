"""Who sees what: organisation scope as SQL conditions, applied in every query that reads cases,
tasks or elevators (DESIGN: enforced in the data layer, not only in views).

A maintenance unit sees the elevators it maintains (and cases where it was given a task, e.g. as
the level-2 backup unit); a use unit its own elevators; a district regulator its district; the
city regulator, the 96933 rescue centre, platform admins and auditors of the city or platform
see the whole city. An analyst edits processes and sees no case data.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select, true

from engine.models import Case, CaseTask
from liftcase.registry.models import Elevator, Organisation, OrgKind, Role, User

CITY_WIDE_KINDS = frozenset({OrgKind.CITY_REGULATOR, OrgKind.RESCUE_CENTRE, OrgKind.PLATFORM})


@dataclass(frozen=True)
class Scope:
    user_id: int
    username: str
    roles: frozenset[str]
    organisation_id: int | None
    organisation_kind: str | None
    district_code: str | None

    @classmethod
    def of(cls, user: User, organisation: Organisation | None) -> Scope:
        return cls(
            user_id=user.id,
            username=user.username,
            roles=frozenset(user.roles or ()),
            organisation_id=user.organisation_id,
            organisation_kind=organisation.kind if organisation else None,
            district_code=organisation.district_code if organisation else None,
        )

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def city_wide(self) -> bool:
        return self.organisation_kind in CITY_WIDE_KINDS and not self.roles <= {Role.ANALYST}

    @property
    def reads_cases(self) -> bool:
        return bool(self.roles - {Role.ANALYST})


def elevators_visible(scope: Scope) -> ColumnElement[bool]:
    """Condition on `Elevator` rows this user may see."""
    if not scope.reads_cases:
        return false()
    if scope.city_wide:
        return true()
    match scope.organisation_kind:
        case OrgKind.DISTRICT_REGULATOR:
            return Elevator.district_code == scope.district_code
        case OrgKind.MAINTENANCE_UNIT:
            return Elevator.maintenance_unit_id == scope.organisation_id
        case OrgKind.USE_UNIT:
            return Elevator.use_unit_id == scope.organisation_id
        case OrgKind.INSPECTION_AGENCY:
            return Elevator.district_code == scope.district_code
    return false()


def cases_visible(scope: Scope) -> ColumnElement[bool]:
    """Condition on `Case` rows: the case's elevator is visible, or the user's organisation was
    given a task on it (a backup unit called in at level 2), or a district regulator's district."""
    if not scope.reads_cases:
        return false()
    if scope.city_wide:
        return true()
    conditions: list[ColumnElement[bool]] = [
        Case.elevator_id.in_(select(Elevator.id).where(elevators_visible(scope)))
    ]
    if scope.organisation_id is not None:
        conditions.append(
            Case.id.in_(select(CaseTask.case_id).where(CaseTask.organisation_id == scope.organisation_id))
        )
    if scope.organisation_kind == OrgKind.DISTRICT_REGULATOR:
        conditions.append(Case.district_code == scope.district_code)
    return or_(*conditions)


def tasks_actionable(scope: Scope) -> ColumnElement[bool]:
    """Condition on `CaseTask` rows this user may claim or complete: assigned to them, or open to
    their organisation and one of their roles fits the task's lane."""
    from processes.roles import LANES

    lanes = [lane for lane, role in LANES.items() if role in scope.roles]
    mine = CaseTask.assignee_id == scope.user_id
    if not lanes or scope.organisation_id is None:
        return mine
    return or_(mine, (CaseTask.organisation_id == scope.organisation_id) & CaseTask.role.in_(lanes))
