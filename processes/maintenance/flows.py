"""Recording a maintenance visit: the checklist checked, the check-in that proves presence taken
over, the plan moved on, the register's last-maintenance date renewed (processes/register_dates.py)
in the same transaction, and after the commit the open maintenance-overdue case closes
(processes/expiry_scan.register_changed). The use unit then answers it (confirmation_flows.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import expiry_scan, register_dates
from processes.checkin.models import CheckIn
from processes.maintenance import checklist
from processes.maintenance.models import MaintenanceVisit
from processes.maintenance.service import VisitRefused, apply_visit, local_day, plan_for
from processes.sla import load_sla
from processes.system import System
from registry.models import Elevator, Role
from registry.scope import Scope, elevators_visible


def cycle_days(system: System) -> int:
    return int(load_sla(system.settings.sla_file)["expiry"]["maintenance_cycle_days"])


def write_visit(
    session: Session,
    elevator: Elevator,
    *,
    maintained_on: date,
    results: dict[str, Any],
    cycle: int,
    now: datetime,
    actor: str,
    technician: str = "",
    technician_id: int | None = None,
    photos: list[str] | None = None,
    note: str = "",
    checkin: CheckIn | None = None,
    source: str = "phone",
    external_id: str | None = None,
    require_all: bool = True,
    declared_periods: tuple[str, ...] = (),
) -> MaintenanceVisit:
    """One visit in the caller's transaction (the phone page and imports share it). VisitRefused
    names what is wrong; nothing is written then."""
    if maintained_on > local_day(now):
        raise VisitRefused({"maintained_on": ["a visit cannot be dated in the future"]})
    plan = plan_for(session, elevator, cycle_days=cycle, now=now, lock=True)
    due = checklist.due_periods(plan.last_done or {}, maintained_on, plan.cycle_days)
    errors = checklist.check_results(results, due if require_all else [])
    if errors:
        raise VisitRefused(errors)
    codes = checklist.item_codes()
    covered = {codes[c] for c in results} | set(declared_periods) | (set(due) if require_all else {"half_monthly"})
    visit = MaintenanceVisit(
        elevator_id=elevator.id,
        maintenance_unit_id=elevator.maintenance_unit_id,
        technician_id=technician_id,
        technician=technician[:60],
        maintained_on=maintained_on,
        due_on=plan.next_due_on,
        on_time=maintained_on <= plan.next_due_on,
        periods=[p for p in (x["key"] for x in checklist.periods()) if p in covered],
        results=results,
        photos=photos or [],
        note=note[:1000],
        checkin_id=checkin.id if checkin else None,
        proof=checkin.proof if checkin else "none",
        source=source,
        external_id=external_id,
        recorded_at=now,
        recorded_by=actor[:60],
    )
    session.add(visit)
    apply_visit(plan, visit)
    visited = register_dates.maintenance_visit(maintained_on)
    register_dates.renew(session, elevator.id, maintained_at=visited, now=now, by=actor)
    session.flush()
    return visit


def record_visit(
    system: System,
    scope: Scope,
    *,
    elevator_id: int,
    results: dict[str, Any],
    maintained_on: date | None = None,
    checkin_id: int | None = None,
    photos: list[str] | None = None,
    note: str = "",
    technician: str | None = None,
) -> MaintenanceVisit:
    """The technician's visit from the phone page. Only the elevator's maintenance unit records it;
    `checkin_id` must be the technician's own check-in at this elevator on the visit's day."""
    now = system.clock.now()
    day = maintained_on or local_day(now)
    with system.sessions() as session, session.begin():
        elevator = session.scalar(select(Elevator).where(Elevator.id == elevator_id, elevators_visible(scope)))
        if elevator is None:
            raise VisitRefused({"elevator_id": ["no such elevator in your scope"]})
        if not scope.has(Role.ADMIN) and elevator.maintenance_unit_id != scope.organisation_id:
            raise VisitRefused({"elevator_id": ["only the elevator's maintenance unit records its visits"]})
        checkin = None
        if checkin_id is not None:
            checkin = session.get(CheckIn, checkin_id)
            if checkin is None or checkin.user_id != scope.user_id or checkin.elevator_id != elevator_id:
                raise VisitRefused({"checkin_id": ["not your check-in at this elevator"]})
            if local_day(checkin.at) != day:
                raise VisitRefused({"checkin_id": ["the check-in was made on another day"]})
        visit = write_visit(
            session,
            elevator,
            maintained_on=day,
            results=results,
            cycle=cycle_days(system),
            now=now,
            actor=scope.username,
            technician=technician or scope.username,
            technician_id=scope.user_id,
            photos=photos,
            note=note,
            checkin=checkin,
        )
        session.expunge(visit)
    expiry_scan.register_changed(system, [elevator_id], record_no=f"visit:{visit.id}")
    return visit
