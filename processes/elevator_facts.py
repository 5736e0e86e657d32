"""An elevator's history and the city's inspection status, as people read them: reads only,
within scope. Maintenance and inspection records are the submitted forms of the expiry and
rectification processes (record_maintenance, record_inspection, reinspect) and the maintenance
visits (processes/maintenance/) with the use unit's answer."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models import Case, CaseTask, TaskStatus
from infra.settings import CITY_TZ
from processes.maintenance.models import MaintenanceVisit
from processes.models import Signal
from registry.models import Elevator
from registry.scope import Scope, elevators_visible

MAINTENANCE_TASKS = ("record_maintenance",)
INSPECTION_TASKS = ("record_inspection", "reinspect")


def history(session: Session, elevator_id: int) -> dict[str, Any]:
    rows = session.execute(
        select(CaseTask.bpmn_id, CaseTask.data, CaseTask.completed_at, CaseTask.completed_by, Case.number)
        .join(Case, Case.id == CaseTask.case_id)
        .where(
            Case.elevator_id == elevator_id,
            CaseTask.status == TaskStatus.COMPLETED,
            CaseTask.bpmn_id.in_(MAINTENANCE_TASKS + INSPECTION_TASKS),
        )
        .order_by(CaseTask.completed_at.desc())
    ).all()
    maintenance, inspections = [], []
    for bpmn_id, data, at, by, number in rows:
        data = data or {}
        if bpmn_id in MAINTENANCE_TASKS:
            maintenance.append(
                {
                    "at": at,
                    "on": data.get("maintained_on"),
                    "record_no": data.get("record_no"),
                    "technician": data.get("technician") or by,
                    "case": number,
                }
            )
        else:
            inspections.append(
                {
                    "at": at,
                    "on": data.get("inspected_on"),
                    "result": data.get("result"),
                    "report_no": data.get("report_no"),
                    "case": number,
                }
            )
    maintenance += [_visit_entry(v) for v in session.scalars(
        select(MaintenanceVisit).where(MaintenanceVisit.elevator_id == elevator_id)
    )]  # fmt: skip
    maintenance.sort(key=lambda m: m["at"], reverse=True)
    return {"maintenance": maintenance, "inspections": inspections}


def _visit_entry(visit: MaintenanceVisit) -> dict[str, Any]:
    """A visit recorded on the phone or imported, with how presence was proven and the use unit's
    answer (processes/maintenance/confirmation.py)."""
    return {
        "at": visit.recorded_at,
        "on": visit.maintained_on.isoformat(),
        "record_no": visit.external_id,
        "technician": visit.technician or visit.recorded_by,
        "case": None,
        "visit_id": visit.id,
        "on_time": visit.on_time,
        "proof": visit.proof,
        "confirmation": visit.confirmation,
        "dispute_reason": visit.dispute_reason,
    }


def inspection_overview(session: Session, scope: Scope, now: datetime) -> dict[str, Any]:
    today = now.astimezone(CITY_TZ).date()
    due = Elevator.next_inspection_due

    def within(days: int) -> Any:
        return func.sum(sql_case(((due >= today) & (due <= today + timedelta(days=days)), 1), else_=0))

    expired = func.sum(sql_case((due < today, 1), else_=0))
    rows = session.execute(
        select(
            Elevator.district_code,
            func.count(),
            expired,
            within(7),
            within(30),
            within(60),
            func.sum(sql_case((Elevator.stop_use.is_(True), 1), else_=0)),
        )
        .where(elevators_visible(scope))
        .group_by(Elevator.district_code)
        .order_by(Elevator.district_code)
    ).all()
    by_district = [
        {
            "district_code": d,
            "total": int(t),
            "expired": int(e or 0),
            "due_7": int(d7 or 0),
            "due_30": int(d30 or 0),
            "due_60": int(d60 or 0),
            "stop_use": int(s or 0),
        }
        for d, t, e, d7, d30, d60, s in rows
    ]

    def total(key: str) -> int:
        return sum(r[key] for r in by_district)

    return {
        "as_of": today,
        "total": total("total"),
        "expired": total("expired"),
        "due_7": total("due_7"),
        "due_30": total("due_30"),
        "due_60": total("due_60"),
        "stop_use": total("stop_use"),
        "by_district": by_district,
    }


def recent_warnings(session: Session, scope: Scope, since: datetime | None, limit: int = 50) -> list[dict[str, Any]]:
    """Signals that started or joined warning and rescue cases (IoT, AI, QR), newest first."""
    stmt = (
        select(
            Signal.id,
            Signal.source,
            Signal.kind,
            Signal.received_at,
            Signal.case_id,
            Signal.joined,
            Elevator.id.label("elevator_id"),
            Elevator.address,
            Elevator.district_code,
        )
        .join(Elevator, Elevator.id == Signal.elevator_id)
        .where(elevators_visible(scope))
        .order_by(Signal.received_at.desc(), Signal.id.desc())
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(Signal.received_at > since)
    return [dict(r._mapping) for r in session.execute(stmt)]
