"""Live figures for the dispatch screen and role home pages, within the caller's scope.
Reads only; times are measured from case opening to the milestone tasks' completion."""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.orm import Session

from engine.models import Case, CaseStatus
from infra.settings import CITY_TZ
from processes.case_service import overdue_condition
from processes.maintenance.ontime import WINDOW_DAYS, unit_on_time
from processes.rescue import metric_steps
from processes.visibility import cases_visible
from registry.equipment.models import Equipment
from registry.models import Elevator, Organisation
from registry.scope import Scope

ARRIVAL_TARGET = timedelta(minutes=30)
_TIMES = (Case.case_type, Case.opened_at, Case.milestones)  # what the time figures read of a case


def local_midnight(now: datetime) -> datetime:
    local = now.astimezone(CITY_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _minutes(case: Row[Any], milestone: str) -> float | None:
    """Minutes from opening to the milestone (`case`: a row of _TIMES)."""
    reached: str | None = (case.milestones or {}).get(milestone)
    if not reached:
        return None
    opened: datetime = case.opened_at
    return (datetime.fromisoformat(reached) - opened).total_seconds() / 60


def _stats(values: list[float]) -> dict[str, Any]:
    return {"count": len(values), "median_min": round(median(values), 1) if values else None}


def summary(session: Session, scope: Scope, now: datetime) -> dict[str, Any]:
    visible = cases_visible(scope)
    open_by_type = dict(
        session.execute(
            select(Case.case_type, func.count()).where(visible, Case.status == CaseStatus.OPEN).group_by(Case.case_type)
        ).all()
    )
    overdue = session.scalar(
        select(func.count()).where(visible, Case.status == CaseStatus.OPEN, overdue_condition(now))
    )
    start = local_midnight(now)
    # The columns the figures use, not whole cases: a case row carries its workflow state (~30 kB).
    today = session.execute(select(*_TIMES).where(visible, Case.opened_at >= start)).all()
    today_by_type: dict[str, int] = {}
    for case in today:
        today_by_type[case.case_type] = today_by_type.get(case.case_type, 0) + 1
    rescues = [c for c in today if c.case_type == "rescue"]
    steps = metric_steps()
    response = [m for c in rescues if (m := _minutes(c, steps["response"])) is not None]
    arrival = [m for c in rescues if (m := _minutes(c, steps["arrival"])) is not None]
    release = [m for c in rescues if (m := _minutes(c, steps["rescue"])) is not None]
    within = sum(1 for m in arrival if m <= ARRIVAL_TARGET.total_seconds() / 60)
    return {
        "at": now,
        "open_by_type": open_by_type,
        "open_total": sum(open_by_type.values()),
        "overdue": overdue or 0,
        "today_by_type": today_by_type,
        "today": {
            "response": _stats(response),
            "arrival": _stats(arrival),
            "release": _stats(release),
            "arrival_30min_rate": round(within / len(arrival), 3) if arrival else None,
        },
        "ranking": ranking(session, scope, now - timedelta(days=30), now),
    }


def ranking(session: Session, scope: Scope, since: datetime, now: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """Maintenance units by median arrival time on rescues since `since` (faster first), each with
    its on-time maintenance rate (the figure level-2 dispatch weighs, processes/roles.py)."""
    rows = session.execute(
        select(*_TIMES, Elevator.maintenance_unit_id)
        .join(Elevator, Elevator.id == Case.elevator_id)
        .where(cases_visible(scope), Case.case_type == "rescue", Case.opened_at >= since)
    ).all()
    per_unit: dict[int, list[float]] = {}
    arrival_step = metric_steps()["arrival"]
    target = ARRIVAL_TARGET.total_seconds() / 60
    for row in rows:
        unit = row.maintenance_unit_id
        minutes = _minutes(row, arrival_step)
        if minutes is not None:
            per_unit.setdefault(unit, []).append(minutes)
    names = dict(session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(per_unit))).all())
    ranked = sorted(per_unit.items(), key=lambda kv: median(kv[1]))
    today = now.astimezone(CITY_TZ).date()
    on_time = unit_on_time(session, today - timedelta(days=WINDOW_DAYS), today)
    return [
        {
            "organisation_id": unit,
            "name": names.get(unit, str(unit)),
            "rescues": len(values),
            "median_arrival_min": round(median(values), 1),
            "arrival_30min_rate": round(sum(1 for v in values if v <= target) / len(values), 3),
            "maintenance_on_time_rate": on_time[unit].rate if unit in on_time else None,
        }
        for unit, values in ranked[:limit]
    ]


def open_case_points(session: Session, scope: Scope, limit: int = 2000) -> list[dict[str, Any]]:
    """Open cases with the position of their elevator or other special equipment (a boiler's
    rectification too), for the live map."""
    rows = session.execute(
        select(
            Case.id,
            Case.number,
            Case.case_type,
            Case.priority,
            Case.escalation_level,
            Case.opened_at,
            Case.elevator_id,
            Case.equipment_id,
            Equipment.equipment_class,
            func.coalesce(Elevator.lat, Equipment.lat).label("lat"),
            func.coalesce(Elevator.lon, Equipment.lon).label("lon"),
            func.coalesce(Elevator.address, Equipment.address).label("address"),
        )
        .outerjoin(Elevator, Elevator.id == Case.elevator_id)
        .outerjoin(Equipment, Equipment.id == Case.equipment_id)
        .where(
            cases_visible(scope),
            Case.status == CaseStatus.OPEN,
            or_(Elevator.id.is_not(None), Equipment.lat.is_not(None)),
        )
        .order_by(Case.opened_at.desc())
        .limit(limit)
    ).all()
    return [dict(r._mapping) for r in rows]
