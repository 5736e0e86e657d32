"""How a BPMN lane (a role) resolves to an organisation and people for one case's elevator."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.hooks import Assignment, Recipient
from engine.models import Case
from engine.scripting import Effect
from liftcase.registry.models import Elevator, Organisation, OrgKind, Role, User

# lane name -> (which organisation, which users of it are told)
LANES: dict[str, str] = {
    "rescue_centre": Role.DISPATCHER,
    "maintenance": Role.MAINTENANCE,
    "maintenance_manager": Role.MAINTENANCE_MANAGER,
    "backup_maintenance": Role.MAINTENANCE,
    "property": Role.PROPERTY,
    "district_regulator": Role.REGULATOR,
    "city_regulator": Role.REGULATOR,
    "inspection_agency": Role.REGULATOR,
}
KNOWN_ROLES = frozenset(LANES)


def _distance(a: Any, b: Any) -> float:
    if a.lat is None or b.lat is None:
        return math.inf
    return math.hypot(a.lat - b.lat, (a.lon - b.lon) * math.cos(math.radians(a.lat)))


class RegistryRoles:
    """The engine's CaseHooks over the organisation register."""

    known_roles = KNOWN_ROLES

    def __init__(self, prefixes: dict[str, str], services: dict[str, Any] | None = None) -> None:
        self.prefixes = prefixes
        self.effect_handlers = services or {}

    def number_prefix(self, case_type: str) -> str:
        return self.prefixes.get(case_type, "AJ")

    def _one(self, session: Session, kind: OrgKind, district: str | None = None) -> Organisation | None:
        stmt = select(Organisation).where(Organisation.kind == kind)
        if district is not None:
            stmt = stmt.where(Organisation.district_code == district)
        return session.scalars(stmt.order_by(Organisation.id).limit(1)).first()

    def organisation(self, session: Session, case: Case, role: str) -> Organisation | None:
        elevator = session.get(Elevator, case.elevator_id) if case.elevator_id else None
        district = case.district_code or (elevator.district_code if elevator else None)
        match role:
            case "maintenance" | "maintenance_manager":
                return session.get(Organisation, elevator.maintenance_unit_id) if elevator else None
            case "property":
                return session.get(Organisation, elevator.use_unit_id) if elevator else None
            case "backup_maintenance":
                return self._backup_unit(session, elevator)
            case "rescue_centre":
                return self._one(session, OrgKind.RESCUE_CENTRE)
            case "district_regulator":
                return self._one(session, OrgKind.DISTRICT_REGULATOR, district)
            case "city_regulator":
                return self._one(session, OrgKind.CITY_REGULATOR)
            case "inspection_agency":
                return self._one(session, OrgKind.INSPECTION_AGENCY)
        return None

    def _backup_unit(self, session: Session, elevator: Elevator | None) -> Organisation | None:
        """Level 2: the nearest other maintenance unit to the elevator."""
        if elevator is None:
            return None
        units = session.scalars(
            select(Organisation).where(
                Organisation.kind == OrgKind.MAINTENANCE_UNIT, Organisation.id != elevator.maintenance_unit_id
            )
        ).all()
        return min(units, key=lambda u: _distance(u, elevator), default=None)

    def _users(self, session: Session, org: Organisation, role: str) -> list[User]:
        tag = LANES[role]
        users = session.scalars(
            select(User).where(User.organisation_id == org.id, User.active.is_(True)).order_by(User.id)
        ).all()
        return [u for u in users if tag in (u.roles or [])]

    def assign(self, session: Session, case: Case, role: str) -> Assignment:
        org = self.organisation(session, case, role)
        if org is None:
            return Assignment(None, None)
        user_id = None
        if role in ("maintenance", "maintenance_manager", "backup_maintenance"):
            users = self._users(session, org, role)
            on_call = [u for u in users if u.on_call] if role != "maintenance_manager" else users
            user_id = on_call[0].id if on_call else None
        return Assignment(org.id, user_id)

    def recipients(self, session: Session, case: Case, role: str) -> list[Recipient]:
        org = self.organisation(session, case, role)
        if org is None:
            return [Recipient(None, None, role)]  # nobody to tell is itself a notice for the operator
        users = self._users(session, org, role)
        if role in ("maintenance", "backup_maintenance"):
            users = [u for u in users if u.on_call] or users
        return [Recipient(org.id, u.id, role) for u in users] or [Recipient(org.id, None, role)]

    def apply_effect(self, session: Session, case: Case, effect: Effect) -> dict[str, Any] | None:
        handler = self.effect_handlers.get(effect.kind)
        return handler(session, case, effect.params) if handler else None
