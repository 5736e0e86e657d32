"""Who sees what: organisation scope as SQL conditions, applied in every query that reads
elevators (cases and tasks: processes/visibility.py). DESIGN: enforced in the data layer, not
only in views.

A maintenance unit sees the elevators it maintains (and cases where it was given a task, e.g. as
the level-2 backup unit); a use unit its own elevators; a district regulator its district; the
city regulator, the 96933 rescue centre, platform admins and auditors of the city or platform
see the whole city. An analyst edits processes and sees no case data.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, true

from registry.equipment.models import Equipment
from registry.models import Elevator, Organisation, OrgKind, Role, User

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
    return _by_organisation(scope, Elevator)


def equipment_visible(scope: Scope) -> ColumnElement[bool]:
    """Condition on `Equipment` rows (the other special equipment) this user may see: the same rule."""
    return _by_organisation(scope, Equipment)


def _by_organisation(scope: Scope, model: type[Elevator] | type[Equipment]) -> ColumnElement[bool]:
    if not scope.reads_cases:
        return false()
    if scope.city_wide:
        return true()
    match scope.organisation_kind:
        case OrgKind.DISTRICT_REGULATOR | OrgKind.INSPECTION_AGENCY:
            return model.district_code == scope.district_code
        case OrgKind.MAINTENANCE_UNIT:
            return model.maintenance_unit_id == scope.organisation_id
        case OrgKind.USE_UNIT:
            return model.use_unit_id == scope.organisation_id
    return false()
