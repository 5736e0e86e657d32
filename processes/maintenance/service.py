"""Reads and writes of plans and visits without side effects (the register and cases are flows.py's)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from infra.settings import CITY_TZ
from processes.maintenance import checklist
from processes.maintenance.models import MaintenancePlan, MaintenanceVisit
from registry.models import Elevator
from registry.scope import Scope, elevators_visible


class VisitRefused(ValueError):
    """A visit that cannot be recorded; `errors` is field -> messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def local_day(at: datetime) -> date:
    return at.astimezone(CITY_TZ).date()


def first_plan(elevator: Elevator, *, cycle_days: int, now: datetime) -> MaintenancePlan:
    """The plan an elevator's first visit makes (not added to the session): the next visit falls due
    one cycle after the last one on the register, or after today when none is recorded."""
    last = local_day(elevator.last_maintenance_at) if elevator.last_maintenance_at else local_day(now)
    return MaintenancePlan(
        elevator_id=elevator.id,
        maintenance_unit_id=elevator.maintenance_unit_id,
        cycle_days=cycle_days,
        next_due_on=last + timedelta(days=cycle_days),
        last_done={},
    )


def plan_for(
    session: Session, elevator: Elevator, *, cycle_days: int, now: datetime, lock: bool = False
) -> MaintenancePlan:
    """The elevator's plan, made on first use (`first_plan`)."""
    stmt = select(MaintenancePlan).where(MaintenancePlan.elevator_id == elevator.id)
    plan = session.scalar(stmt.with_for_update() if lock else stmt)
    if plan is None:
        plan = first_plan(elevator, cycle_days=cycle_days, now=now)
        plan.active, plan.created_at = True, now
        session.add(plan)
        session.flush()
    elif plan.maintenance_unit_id != elevator.maintenance_unit_id:
        plan.maintenance_unit_id = elevator.maintenance_unit_id  # the register changed the unit
    return plan


def plans(
    session: Session, scope: Scope, *, cycle_days: int, now: datetime, due_before: date | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Plans of the elevators in the scope, soonest due first, with what the next visit covers. An
    elevator without a plan row shows the plan its first visit will make (read only: nothing is
    written for a reader)."""
    stmt = (
        select(MaintenancePlan, Elevator)
        .select_from(Elevator)
        .outerjoin(MaintenancePlan, MaintenancePlan.elevator_id == Elevator.id)
        .where(elevators_visible(scope), or_(MaintenancePlan.id.is_(None), MaintenancePlan.active.is_(True)))
    )
    out = []
    for plan, elevator in session.execute(stmt):
        if plan is None:
            plan = first_plan(elevator, cycle_days=cycle_days, now=now)
        if due_before is None or plan.next_due_on <= due_before:
            out.append(plan_dict(plan, elevator.register_code, elevator.address))
    out.sort(key=lambda p: (p["next_due_on"], p["elevator_id"]))
    return out[:limit]


def plan_dict(plan: MaintenancePlan, register_code: str, address: str) -> dict[str, Any]:
    return {
        "id": plan.id,
        "elevator_id": plan.elevator_id,
        "register_code": register_code,
        "address": address,
        "maintenance_unit_id": plan.maintenance_unit_id,
        "cycle_days": plan.cycle_days,
        "next_due_on": plan.next_due_on.isoformat(),
        "last_done": dict(plan.last_done or {}),
        "periods_due": checklist.due_periods(plan.last_done or {}, plan.next_due_on, plan.cycle_days),
    }


def apply_visit(plan: MaintenancePlan, visit: MaintenanceVisit) -> None:
    """A visit moves the plan on: the next due date one cycle after it (never back), and the
    periods it covered marked done on its date."""
    nxt = visit.maintained_on + timedelta(days=plan.cycle_days)
    if nxt > plan.next_due_on:
        plan.next_due_on = nxt
    done = dict(plan.last_done or {})
    for period in visit.periods:
        if done.get(period, "") < visit.maintained_on.isoformat():
            done[period] = visit.maintained_on.isoformat()
    plan.last_done = done


def visits(
    session: Session, scope: Scope, *, elevator_id: int | None = None, limit: int = 100
) -> list[MaintenanceVisit]:
    stmt = (
        select(MaintenanceVisit)
        .where(MaintenanceVisit.elevator_id.in_(select(Elevator.id).where(elevators_visible(scope))))
        .order_by(MaintenanceVisit.maintained_on.desc(), MaintenanceVisit.id.desc())
        .limit(limit)
    )
    if elevator_id is not None:
        stmt = stmt.where(MaintenanceVisit.elevator_id == elevator_id)
    return list(session.scalars(stmt))


def visit_dict(v: MaintenanceVisit) -> dict[str, Any]:
    return {
        "id": v.id,
        "elevator_id": v.elevator_id,
        "maintenance_unit_id": v.maintenance_unit_id,
        "technician": v.technician,
        "maintained_on": v.maintained_on.isoformat(),
        "due_on": v.due_on.isoformat() if v.due_on else None,
        "on_time": v.on_time,
        "periods": list(v.periods),
        "results": dict(v.results),
        "photos": list(v.photos),
        "note": v.note,
        "proof": v.proof,
        "checkin_id": v.checkin_id,
        "source": v.source,
        "external_id": v.external_id,
        "recorded_at": v.recorded_at.isoformat(),
        "confirmed_at": v.confirmed_at.isoformat() if v.confirmed_at else None,
        "confirmed_by": v.confirmed_by,
        "confirmation": v.confirmation,
        "disputed_at": v.disputed_at.isoformat() if v.disputed_at else None,
        "disputed_by": v.disputed_by,
        "dispute_reason": v.dispute_reason,
    }
