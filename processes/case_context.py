"""What the people working a case need at a glance, on every task and inbox card: where (address,
district, position), what came in (source, trapped count, injury, the caller's phone) and what the
others have said since (the dispatcher's note, the technician's name, phone and ETA).

The start variables hold what the signal brought; completed tasks' form data hold what people added
(a dispatcher's verified trapped count replaces the passenger's guess). Plain reads, in three
queries for a whole page of tasks, whatever its size.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, defer

from engine.models import Case, CaseTask, TaskStatus
from registry.equipment.models import Equipment
from registry.models import District, Elevator

# Start variables shown as they are.
_FROM_VARIABLES = ("address", "register_code", "source", "trapped_count", "injured", "reporter_phone")
# Form fields of completed tasks, by the role that filled them in: form field -> context key.
_FROM_FORMS: dict[str, dict[str, str]] = {
    "rescue_centre": {"trapped_count": "trapped_count", "injured": "injured", "note": "dispatcher_note"},
    "maintenance": {"technician": "technician", "phone": "technician_phone", "eta_minutes": "eta_minutes"},
    "backup_maintenance": {"technician": "technician", "phone": "technician_phone", "eta_minutes": "eta_minutes"},
}


# Built once: every task list, inbox card and case page runs them (building and keying a select
# cost about as much as running it). Columns, not entities: a context shows five of a row's ~40.
_ELEVATORS = select(Elevator.id, Elevator.register_code, Elevator.address, Elevator.lat, Elevator.lon).where(
    Elevator.id.in_(bindparam("ids", expanding=True))
)
_EQUIPMENT = select(
    Equipment.id,
    Equipment.equipment_class,
    Equipment.name,
    Equipment.register_code,
    Equipment.address,
    Equipment.lat,
    Equipment.lon,
).where(Equipment.id.in_(bindparam("ids", expanding=True)))
_DISTRICTS = select(District.code, District.name).where(District.code.in_(bindparam("codes", expanding=True)))
_DONE = (
    select(CaseTask.case_id, CaseTask.role, CaseTask.data, CaseTask.completed_at)
    .where(CaseTask.case_id.in_(bindparam("ids", expanding=True)), CaseTask.status == TaskStatus.COMPLETED)
    .order_by(CaseTask.completed_at, CaseTask.id)
)


def case_contexts(session: Session, cases: Iterable[Case]) -> dict[int, dict[str, Any]]:
    """case id -> its context (keys without a value are left out)."""
    by_id = {c.id: c for c in cases}
    if not by_id:
        return {}
    elevator_ids = list({c.elevator_id for c in by_id.values() if c.elevator_id})
    elevators = {e.id: e for e in session.execute(_ELEVATORS, {"ids": elevator_ids})} if elevator_ids else {}
    equipment_ids = list({c.equipment_id for c in by_id.values() if c.equipment_id})
    equipment = {q.id: q for q in session.execute(_EQUIPMENT, {"ids": equipment_ids})} if equipment_ids else {}
    district_codes = list({c.district_code for c in by_id.values() if c.district_code})
    districts = (
        {code: name for code, name in session.execute(_DISTRICTS, {"codes": district_codes})} if district_codes else {}
    )
    done = session.execute(_DONE, {"ids": list(by_id)})
    added: dict[int, dict[str, Any]] = {}
    for case_id, role, data, completed_at in done:
        wanted = _FROM_FORMS.get(role)
        if not wanted or not data:
            continue
        facts = added.setdefault(case_id, {})
        for field, key in wanted.items():
            if data.get(field) not in (None, ""):
                facts[key] = data[field]
        if data.get("eta_minutes") and completed_at is not None:
            facts["eta_at"] = (completed_at + timedelta(minutes=int(data["eta_minutes"]))).isoformat()
    out: dict[int, dict[str, Any]] = {}
    for case_id, case in by_id.items():
        variables = case.variables or {}
        ctx: dict[str, Any] = {k: variables[k] for k in _FROM_VARIABLES if variables.get(k) not in (None, "")}
        elevator = elevators.get(case.elevator_id) if case.elevator_id else None
        if elevator is not None:
            ctx.update(
                elevator_id=elevator.id,
                register_code=elevator.register_code,
                address=elevator.address,
                lat=elevator.lat,
                lon=elevator.lon,
            )
        piece = equipment.get(case.equipment_id) if case.equipment_id else None
        if piece is not None:  # other special equipment: its class and name besides the elevator's facts
            ctx.update(
                equipment_id=piece.id,
                equipment_class=piece.equipment_class,
                equipment_name=piece.name,
                register_code=piece.register_code,
                address=piece.address,
                lat=piece.lat,
                lon=piece.lon,
            )
        if case.district_code:
            ctx["district_code"] = case.district_code
            if case.district_code in districts:
                ctx["district"] = districts[case.district_code]
        ctx.update(added.get(case_id, {}))
        ctx["opened_at"] = case.opened_at.isoformat()
        out[case_id] = ctx
    return out


def active_rescues(session: Session, scope: Any, limit: int = 50) -> list[dict[str, Any]]:
    """Open rescues in the scope, oldest report first (the longest trapped on top), each with its
    context, escalation level, maintenance unit and whether someone has accepted or arrived."""
    from processes.visibility import cases_visible
    from registry.models import Organisation

    cases = list(
        session.scalars(
            select(Case)
            .options(defer(Case.state))  # the serialised workflow: not needed on a card
            .where(cases_visible(scope), Case.case_type == "rescue", Case.status == "open")
            .order_by(Case.opened_at, Case.id)
            .limit(limit)
        )
    )
    contexts = case_contexts(session, cases)
    units = (
        dict(
            session.execute(
                select(Elevator.id, Organisation.name)
                .join(Organisation, Organisation.id == Elevator.maintenance_unit_id)
                .where(Elevator.id.in_({c.elevator_id for c in cases if c.elevator_id}))
            ).all()
        )
        if cases
        else {}
    )
    return [
        {
            "id": c.id,
            "number": c.number,
            "escalation_level": c.escalation_level,
            "milestones": sorted((c.milestones or {}).keys()),
            "maintenance_unit": units.get(c.elevator_id) if c.elevator_id else None,
            "context": contexts.get(c.id, {}),
        }
        for c in cases
    ]
