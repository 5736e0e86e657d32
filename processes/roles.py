"""How a BPMN lane (a role) resolves to an organisation and people for one case's elevator (or other
special equipment)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.hooks import Assignment, Recipient
from engine.models import Case
from infra.clock import Clock
from infra.settings import CITY_TZ
from processes.maintenance.ontime import WINDOW_DAYS, unit_on_time
from registry.equipment.models import Equipment
from registry.models import Elevator, Organisation, OrgKind, Role, User

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
# Lanes whose organisation is configured, not found from the elevator (processes/sla.toml): every
# active user of that organisation hears of it (the public-security liaison for deliberate damage).
CONTACT_LANES = frozenset({"public_security"})
KNOWN_ROLES = frozenset(LANES) | CONTACT_LANES
T = TypeVar("T")


def _distance(a: Any, b: Any) -> float:
    if a.lat is None or b.lat is None:
        return math.inf
    return math.hypot(a.lat - b.lat, (a.lon - b.lon) * math.cos(math.radians(a.lat)))


@dataclass(frozen=True)
class _OrgRef:
    id: int
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class _UserRef:
    id: int
    roles: tuple[str, ...]
    on_call: bool


@dataclass(frozen=True)
class _ElevatorRef:
    id: int
    district_code: str | None
    maintenance_unit_id: int | None
    use_unit_id: int | None
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class _OrgRow:
    ref: _OrgRef
    kind: str
    district_code: str | None


@dataclass(frozen=True)
class _Directory:
    orgs: dict[int, _OrgRow]
    ordered: list[_OrgRow]  # by id: "the first rescue centre" is the same one every time
    users: dict[int, list[_UserRef]]  # by organisation, by id
    first: dict[tuple[str, str | None], _OrgRef]  # (kind, district or None) -> lowest id
    by_code: dict[str, _OrgRef]
    on_time: dict[int, float]  # maintenance unit -> on-time maintenance rate (units with evidence)


class _TtlCache:
    """Reference data (who belongs where) changes rarely and is read on every case step; a short
    TTL keeps lookups off the database without serving stale assignments for long."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._items: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        """The value kept under `key` (what `load` made for it, within the TTL)."""
        now = time.monotonic()
        hit = self._items.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            kept: T = hit[1]
            return kept
        value = load()
        self._items[key] = (now, value)
        return value


class RegistryRoles:
    """The engine's CaseHooks over the organisation register."""

    known_roles = KNOWN_ROLES

    def __init__(
        self,
        prefixes: dict[str, str],
        cache_seconds: float = 30.0,
        contacts: dict[str, str] | None = None,
        *,
        clock: Clock | None = None,
        on_time_weight: float = 1.0,
    ) -> None:
        self.prefixes = prefixes
        self.contacts = contacts or {}  # contact lane -> organisation code
        self.clock = clock  # None: units are ranked by distance alone
        self.on_time_weight = on_time_weight
        self._cache = _TtlCache(cache_seconds)

    def number_prefix(self, case_type: str) -> str:
        return self.prefixes.get(case_type, "AJ")

    def _directory(self, session: Session) -> _Directory:
        """Every organisation and active user, read with two queries and kept for the TTL: the
        register is small (hundreds of organisations and users) and read on every case step."""

        def load() -> _Directory:
            rows = session.execute(
                select(Organisation.id, Organisation.lat, Organisation.lon, Organisation.kind)
                .add_columns(Organisation.district_code, Organisation.code)
                .order_by(Organisation.id)
            ).all()
            orgs = [_OrgRow(_OrgRef(o.id, o.lat, o.lon), o.kind, o.district_code) for o in rows]
            by_code = {o.code: _OrgRef(o.id, o.lat, o.lon) for o in rows}
            users: dict[int, list[_UserRef]] = {}
            for u in session.execute(
                select(User.id, User.organisation_id, User.roles, User.on_call)
                .where(User.active.is_(True))
                .order_by(User.id)
            ):
                users.setdefault(u.organisation_id, []).append(_UserRef(u.id, tuple(u.roles or ()), u.on_call))
            first: dict[tuple[str, str | None], _OrgRef] = {}
            for o in orgs:
                first.setdefault((o.kind, None), o.ref)
                first.setdefault((o.kind, o.district_code), o.ref)
            on_time: dict[int, float] = {}
            if self.clock is not None:
                today = self.clock.now().astimezone(CITY_TZ).date()
                for unit, figures in unit_on_time(session, today - timedelta(days=WINDOW_DAYS), today).items():
                    if figures.rate is not None:
                        on_time[unit] = figures.rate
            return _Directory({o.ref.id: o for o in orgs}, orgs, users, first, by_code, on_time)

        return self._cache.get("directory", load)

    def _one(self, session: Session, kind: OrgKind, district: str | None = None) -> _OrgRef | None:
        return self._directory(session).first.get((kind, district))

    def _org(self, session: Session, org_id: int | None) -> _OrgRef | None:
        if org_id is None:  # an elevator without that unit on record
            return None
        found = self._directory(session).orgs.get(org_id)
        if found is not None:
            return found.ref

        def load() -> _OrgRef | None:  # registered after the directory was read
            org = session.get(Organisation, org_id)
            return _OrgRef(org.id, org.lat, org.lon) if org else None

        return self._cache.get(("org", org_id), load)

    def _elevator(self, session: Session, elevator_id: int | None) -> _ElevatorRef | None:
        if elevator_id is None:
            return None

        def load() -> _ElevatorRef | None:
            # A copy of the fields, not the ORM object: that one dies with its session (a rollback
            # expires it), the cache outlives both.
            e = session.get(Elevator, elevator_id)
            if e is None:
                return None
            return _ElevatorRef(e.id, e.district_code, e.maintenance_unit_id, e.use_unit_id, e.lat, e.lon)

        return self._cache.get(("elevator", elevator_id), load)

    def _equipment(self, session: Session, equipment_id: int | None) -> _ElevatorRef | None:
        """Other special equipment has the same lanes as an elevator: its use and maintenance units."""
        if equipment_id is None:
            return None

        def load() -> _ElevatorRef | None:
            q = session.get(Equipment, equipment_id)
            if q is None:
                return None
            return _ElevatorRef(q.id, q.district_code, q.maintenance_unit_id, q.use_unit_id, q.lat, q.lon)

        return self._cache.get(("equipment", equipment_id), load)

    def organisation(self, session: Session, case: Case, role: str) -> _OrgRef | None:
        elevator = self._elevator(session, case.elevator_id) or self._equipment(session, case.equipment_id)
        district = case.district_code or (elevator.district_code if elevator else None)
        facts = case.variables or {}  # equipment other than elevators: the units the case names
        match role:
            case "maintenance" | "maintenance_manager":
                return self._org(
                    session, elevator.maintenance_unit_id if elevator else facts.get("maintenance_unit_id")
                )
            case "property":
                return self._org(session, elevator.use_unit_id if elevator else facts.get("use_unit_id"))
            case "backup_maintenance":
                return self._backup_unit(session, elevator)
            case "rescue_centre":
                return self._one(session, OrgKind.RESCUE_CENTRE)
            case "district_regulator":
                return self._one(session, OrgKind.DISTRICT_REGULATOR, district)
            case "city_regulator":
                return self._one(session, OrgKind.CITY_REGULATOR)
            case "inspection_agency":  # the institute whose report opened the case, else the first
                issued_by = self._org(session, facts.get("inspection_agency_id"))
                return issued_by or self._one(session, OrgKind.INSPECTION_AGENCY)
            case lane if lane in self.contacts:
                return self._directory(session).by_code.get(self.contacts[lane])
        return None

    def _backup_unit(self, session: Session, elevator: _ElevatorRef | None) -> _OrgRef | None:
        """Level 2: the nearest other maintenance unit to the elevator, its distance stretched by
        its late maintenance: (1 + weight * (1 - on-time rate)); a unit with nothing due in the
        window is ranked by distance alone."""
        if elevator is None:
            return None
        directory = self._directory(session)
        units = [o.ref for o in directory.ordered if o.kind == OrgKind.MAINTENANCE_UNIT]
        others = [u for u in units if u.id != elevator.maintenance_unit_id]

        def rank(unit: _OrgRef) -> float:
            lateness = 1.0 - directory.on_time.get(unit.id, 1.0)
            return _distance(unit, elevator) * (1.0 + self.on_time_weight * lateness)

        return min(others, key=rank, default=None)

    def _users(self, session: Session, org: _OrgRef, role: str) -> list[_UserRef]:
        tag = LANES.get(role)  # None: a contact lane, whose organisation's every user is told
        directory = self._directory(session)
        if org.id in directory.orgs:
            users = directory.users.get(org.id, [])
        else:
            users = self._cache.get(
                ("users", org.id),
                lambda: [
                    _UserRef(u.id, tuple(u.roles or ()), u.on_call)
                    for u in session.scalars(
                        select(User).where(User.organisation_id == org.id, User.active.is_(True)).order_by(User.id)
                    )
                ],
            )
        return [u for u in users if tag is None or tag in u.roles]

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
