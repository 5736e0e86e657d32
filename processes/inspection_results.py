"""What an inspection institute's report does to the register and the cases (检验检测结果):

- a passing conclusion renews the equipment's inspection dates. For an elevator with an open
  inspection-expiry case the report is handed to that case (the `inspection_recorded` message):
  its `renew_register` step writes the dates on its timeline and the case closes as inspected.
  Otherwise the dates are written here with their entry in the admin audit chain (the register
  stream of the outbound feed);
- a failed or conditional conclusion opens a rectification case (or joins the elevator's open
  one), with each nonconformity an item tracked to closed (processes.rectification_items);
- a report on equipment whose rectification case waits for its re-inspection is that
  re-inspection (复检): passed closes the case (and renews the dates), failed sends it back with
  the new nonconformities as items.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.models import Case, CaseStatus, CaseTask, TaskStatus
from infra.errors import Conflict
from infra.settings import CITY_TZ
from processes import admin_audit, case_flows, register_dates
from processes.expiry import utc_iso
from processes.intake import IntakeResult
from processes.rectification_items import Finding, add_items
from processes.system import System
from registry.equipment.models import Equipment, EquipmentStatus
from registry.models import Elevator

PASSING = ("passed", "reinspection_passed", "passed_after_rectification")
NEEDS_RECTIFICATION = ("conditional", "failed")
CONCLUSIONS = PASSING + NEEDS_RECTIFICATION
ELEVATOR_CYCLE_MONTHS = 12  # TSG T7001: elevators are inspected yearly


@dataclass(frozen=True)
class Target:
    """The equipment a report is about: an elevator of the register, or another piece of special
    equipment (registry/equipment)."""

    register_code: str
    elevator_id: int | None
    equipment_id: int | None
    district_code: str
    address: str
    use_unit_id: int | None
    maintenance_unit_id: int | None
    cycle_months: int


@dataclass(frozen=True)
class Result:
    report_no: str
    inspected_on: date
    conclusion: str
    next_due: date | None
    findings: list[Finding] = field(default_factory=list)
    rectify_by: date | None = None


@dataclass(frozen=True)
class Outcome:
    outcome: str  # register_renewed | rectification_opened | reinspection_failed
    case_id: int | None
    expiry_case_id: int | None = None
    duplicate: bool = False


def find_target(session: Session, register_code: str) -> Target | None:
    """The elevator or equipment with this register code (an elevator also by its QR code)."""
    e = session.scalar(
        select(Elevator).where(or_(Elevator.register_code == register_code, Elevator.qr_code == register_code))
    )
    if e is not None:
        return Target(
            e.register_code, e.id, None, e.district_code, e.address, e.use_unit_id, e.maintenance_unit_id,
            ELEVATOR_CYCLE_MONTHS,
        )  # fmt: skip
    q = session.scalar(
        select(Equipment).where(Equipment.register_code == register_code, Equipment.status != EquipmentStatus.RETIRED)
    )
    if q is None:
        return None
    return Target(
        q.register_code, None, q.id, q.district_code, q.address, q.use_unit_id, q.maintenance_unit_id,
        q.inspection_cycle_months,
    )  # fmt: skip


def accept(system: System, target: Target, result: Result, *, key: str, agency_id: int, actor: str) -> Outcome:
    """The report's effect; `key` is its idempotency key (one case, one set of items per key). A
    rectification case waiting for its re-inspection takes the report as that re-inspection."""
    for attempt in range(3):
        waiting = waiting_reinspection(system, target)
        if waiting is None:
            break
        case_id, task_id = waiting
        passed = result.conclusion in PASSING
        data: dict[str, Any] = {"result": "passed" if passed else "failed", "report_no": result.report_no}
        if not passed:
            data["findings"] = [f"{f.code} {f.description}" for f in result.findings]
            if result.rectify_by:
                data["new_deadline"] = utc_iso(result.rectify_by)
        try:
            system.engine.complete_task(task_id, data, actor=actor)
        except Conflict:
            # Another report took this re-inspection a moment ago (the case closed or moved on):
            # look again; this report is then an ordinary one, never refused and never lost.
            if attempt == 2:
                raise
            continue
        if not passed:
            with system.sessions() as session, session.begin():
                add_items(session, case_id, f"inspection:{key}"[:160], result.findings, system.clock.now())
            return Outcome("reinspection_failed", case_id)
        return replace(record_pass(system, target, result, key=key, actor=actor), case_id=case_id)
    if result.conclusion in PASSING:
        return record_pass(system, target, result, key=key, actor=actor)
    intake = open_rectification(system, target, result, key=key, agency_id=agency_id, actor=actor)
    return Outcome("rectification_opened", intake.case_id, duplicate=intake.duplicate)


def waiting_reinspection(system: System, target: Target) -> tuple[int, int] | None:
    """(case id, task id) of the equipment's open rectification case whose re-inspection is due."""
    stmt = (
        select(Case.id, CaseTask.id, Case.variables)
        .join(CaseTask, CaseTask.case_id == Case.id)
        .where(
            Case.case_type == "rectification",
            Case.status == CaseStatus.OPEN,
            CaseTask.bpmn_id == "reinspect",
            CaseTask.status == TaskStatus.OPEN,
        )
        .order_by(Case.id)
    )
    if target.elevator_id is not None:
        stmt = stmt.where(Case.elevator_id == target.elevator_id)
    else:
        stmt = stmt.where(Case.elevator_id.is_(None), Case.district_code == target.district_code)
    with system.sessions() as session:
        for case_id, task_id, variables in session.execute(stmt):
            if target.elevator_id is not None or (variables or {}).get("equipment_id") == target.equipment_id:
                return case_id, task_id
    return None


def record_pass(system: System, target: Target, result: Result, *, key: str, actor: str) -> Outcome:
    today = system.clock.now().astimezone(CITY_TZ).date()
    due = register_dates.next_inspection_due(result.next_due, result.inspected_on, today, target.cycle_months)
    if target.elevator_id is not None:
        expiry_key = f"expiry:inspection:{target.elevator_id}"
        payload = {
            "result": "passed",
            "report_no": result.report_no,
            "inspected_on": result.inspected_on.isoformat(),
            "next_due_date": due.isoformat(),
            "renewed_by_report": True,
        }
        case = system.engine.correlate_message(expiry_key, "inspection_recorded", payload, actor=actor)
        if case is not None and case.status == CaseStatus.CLOSED:
            return Outcome("register_renewed", None, expiry_case_id=case.id)
    with system.sessions() as session, session.begin():
        renew_directly(session, target, result, due, key=key, actor=actor, at=system.clock.now())
    return Outcome("register_renewed", None)


def renew_directly(
    session: Session, target: Target, result: Result, due: date, *, key: str, actor: str, at: Any
) -> None:
    """The register's dates from a report no case waits for, with the admin audit entry (which the
    outbound feed carries as a register change)."""
    if target.elevator_id is not None:
        changes: dict[str, Any] = register_dates.renew(
            session, target.elevator_id, inspection_due=due, now=at, by=actor
        )
        kind, what, ident = "elevator.inspection_recorded", "elevator", target.elevator_id
    else:
        assert target.equipment_id is not None
        changes = register_dates.renew_equipment(
            session, target.equipment_id, due, result.inspected_on, now=at, by=actor
        )
        kind, what, ident = "equipment.inspection_recorded", "equipment", target.equipment_id
    report = {"report_no": result.report_no, "conclusion": result.conclusion, "key": key}
    admin_audit.record(
        session,
        kind,
        actor=actor,
        at=at,
        target={"type": what, "id": ident, "name": target.register_code},
        changes={**changes, "report": report},
    )


def open_rectification(
    system: System, target: Target, result: Result, *, key: str, agency_id: int, actor: str
) -> IntakeResult:
    """A rectification case for the report (a second report joins the elevator's open case), its
    items added once per report."""
    signal: dict[str, Any] = {
        "source": "inspection",
        "report_no": result.report_no,
        "conclusion": result.conclusion,
        "inspected_on": result.inspected_on.isoformat(),
        "findings": [f"{f.code} {f.description}" for f in result.findings],
        "deadline": result.rectify_by.isoformat() if result.rectify_by else None,
        "inspection_agency_id": agency_id,
        "idempotency_key": f"inspection:{key}"[:160],
    }
    if target.elevator_id is None:  # another piece of equipment: the case carries its facts
        signal.update(
            equipment_id=target.equipment_id,
            register_code=target.register_code,
            address=target.address,
            district_code=target.district_code,
            use_unit_id=target.use_unit_id,
            maintenance_unit_id=target.maintenance_unit_id,
        )
    intake = case_flows.take_signal(system, "rectification", elevator_id=target.elevator_id, signal=signal, actor=actor)
    # After the case's own transaction; a retry of the report finds the case (same key) and adds
    # the items it has not got yet.
    with system.sessions() as session, session.begin():
        add_items(session, intake.case_id, f"inspection:{key}"[:160], result.findings, system.clock.now())
    return intake
