"""The daily expiry scan: every elevator and every piece of the other seven classes of special
equipment (registry/equipment/, not retired) whose periodic inspection falls due within the first
warning period (60 days, sla.toml) gets an inspection-expiry case, every elevator on day 13 of its
15-day maintenance cycle a maintenance-expiry case. Each piece's due date follows its own
inspection cycle (the class's, or the record's own), so the scan reads only the date.

Set-based: one query per register picks the rows, one intake transaction (`open_or_join_many`)
opens their cases. Each signal's idempotency key is the elevator (or `equipment:<id>`) and the
date it is about (the due date, the last maintenance visit), so a rerun, the next day's scan or
a second scheduler opens nothing twice; a new date (the register renewed) is a new key.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.durations import parse_duration
from engine.models import Case, CaseStatus
from infra.periodic import Periodic
from infra.settings import CITY_TZ
from processes.catalogue import CASE_TYPES
from processes.expiry import utc_iso
from processes.intake import IntakeItem, ScanResult, open_or_join_many
from processes.models import Signal
from processes.sla import load_sla
from processes.system import System
from registry.equipment.models import Equipment, EquipmentStatus
from registry.models import Elevator

CHUNK = 500  # signals per intake transaction: a city's first scan opens hundreds of cases


def _days(expression: str) -> timedelta:
    parts = parse_duration(expression)
    return timedelta(days=parts.get("days", 0) + 7 * parts.get("weeks", 0))


def inspection_horizon(now: datetime, sla: dict[str, Any]) -> date:
    """Due dates before this day are inside the first warning period. A due date is valid through
    that Beijing day (processes.expiry.utc_iso), so a case opens at the first warning's instant."""
    return (now.astimezone(CITY_TZ) + _days(sla["expiry"]["warn_before"][0])).date()


def maintenance_horizon(now: datetime, sla: dict[str, Any]) -> datetime:
    """Visits at or before this instant are at day 13 (the unit's warning) of their cycle or later."""
    return now - timedelta(days=int(sla["expiry"]["maintenance_warn_unit_day"]))


def due_signals(session: Session, now: datetime, sla: dict[str, Any]) -> list[IntakeItem]:
    """One intake item per expiry the registers show now, from one query per register."""
    horizon, visited_before = inspection_horizon(now, sla), maintenance_horizon(now, sla)
    inspection_due = and_(Elevator.next_inspection_due.is_not(None), Elevator.next_inspection_due < horizon)
    maintenance_due = and_(Elevator.last_maintenance_at.is_not(None), Elevator.last_maintenance_at <= visited_before)
    rows = session.execute(
        select(Elevator.id, Elevator.next_inspection_due, Elevator.last_maintenance_at)
        .where(or_(inspection_due, maintenance_due))
        .order_by(Elevator.id)
    )
    items = []
    for elevator_id, due, visited in rows:
        if due is not None and due < horizon:
            key = f"expiry:inspection:{elevator_id}:{due.isoformat()}"
            signal = {"source": "scan", "kind": "inspection", "due_date": due.isoformat(), "idempotency_key": key}
            items.append(IntakeItem("expiry", elevator_id, signal, "expiry-scan"))
        if visited is not None and visited <= visited_before:
            at = visited.isoformat()
            key = f"expiry:maintenance:{elevator_id}:{at}"
            signal = {"source": "scan", "kind": "maintenance", "last_maintenance_at": at, "idempotency_key": key}
            items.append(IntakeItem("expiry", elevator_id, signal, "expiry-scan"))
    return items + equipment_due_signals(session, horizon)


def equipment_due_signals(session: Session, horizon: date) -> list[IntakeItem]:
    """The inspection expiries of the other special equipment; a retired record never has one."""
    rows = session.execute(
        select(Equipment.id, Equipment.next_inspection_due)
        .where(
            Equipment.status != EquipmentStatus.RETIRED,
            Equipment.next_inspection_due.is_not(None),
            Equipment.next_inspection_due < horizon,
        )
        .order_by(Equipment.id)
    )
    items = []
    for equipment_id, due in rows:
        assert due is not None  # the query's
        key = f"expiry:inspection:equipment:{equipment_id}:{due.isoformat()}"
        signal = {
            "source": "scan",
            "kind": "inspection",
            "equipment_id": equipment_id,
            "due_date": due.isoformat(),
            "idempotency_key": key,
        }
        items.append(IntakeItem("expiry", None, signal, "expiry-scan", equipment_id=equipment_id))
    return items


@dataclass(frozen=True)
class Renewal:
    """An open expiry case whose elevator's register moved past the date the case is about."""

    correlation_key: str
    message: str
    payload: dict[str, Any]


def renewals(
    session: Session,
    elevator_ids: Collection[int] | None = None,
    equipment_ids: Collection[int] | None = None,
    record_no: str = "register",
) -> list[Renewal]:
    """Open expiry cases the register has overtaken (a later due date, a later visit recorded
    without the case: an inspection report, an import, an admin's edit), from one query per
    register; all of them, or those of `elevator_ids` / `equipment_ids` (None: all)."""
    if elevator_ids is not None and not elevator_ids:
        return _equipment_renewals(session, equipment_ids)
    if equipment_ids is not None and not equipment_ids:
        return _elevator_renewals(session, elevator_ids, record_no)
    return _elevator_renewals(session, elevator_ids, record_no) + _equipment_renewals(session, equipment_ids)


def _inspection_renewal(key: str, variables: dict[str, Any], due: date | None) -> Renewal | None:
    """The case's due date overtaken by a later one on the register (not the one it opened with)."""
    was = variables.get("due_date")
    renewed = utc_iso(due) if due is not None else None
    changed = due is not None and due.isoformat() != variables.get("register_due_date")
    if changed and renewed and was and datetime.fromisoformat(renewed) > datetime.fromisoformat(was):
        assert due is not None
        payload = {"result": "passed", "report_no": "register", "next_due_date": due.isoformat()}
        return Renewal(key, "inspection_recorded", payload)
    return None


def _equipment_renewals(session: Session, equipment_ids: Collection[int] | None) -> list[Renewal]:
    stmt = (
        select(Case.open_key, Case.variables, Equipment.next_inspection_due)
        .join(Equipment, Equipment.id == Case.equipment_id)
        .where(Case.case_type == "expiry", Case.status == CaseStatus.OPEN)
        .order_by(Case.id)
    )
    if equipment_ids is not None:
        stmt = stmt.where(Case.equipment_id.in_(list(equipment_ids)))
    found = (_inspection_renewal(key, variables, due) for key, variables, due in session.execute(stmt))
    return [r for r in found if r is not None]


def _elevator_renewals(
    session: Session, elevator_ids: Collection[int] | None, record_no: str = "register"
) -> list[Renewal]:
    stmt = (
        select(Case.open_key, Case.variables, Elevator.next_inspection_due, Elevator.last_maintenance_at)
        .join(Elevator, Elevator.id == Case.elevator_id)
        .where(Case.case_type == "expiry", Case.status == CaseStatus.OPEN)
        .order_by(Case.id)
    )
    if elevator_ids is not None:
        stmt = stmt.where(Case.elevator_id.in_(list(elevator_ids)))
    rows = session.execute(stmt)
    out = []
    for key, variables, due, visited in rows:
        if variables.get("kind") == "maintenance":
            was = variables.get("last_maintenance_at")
            changed = visited is not None and visited.isoformat() != variables.get("register_last_maintenance_at")
            if changed and visited is not None and was and visited > datetime.fromisoformat(was):
                payload = {"maintained_on": visited.isoformat(), "record_no": record_no}
                out.append(Renewal(key, "maintenance_recorded", payload))
        else:
            renewal = _inspection_renewal(key, variables, due)
            if renewal is not None:
                out.append(renewal)
    return out


def close_renewed(system: System, found: Sequence[Renewal]) -> int:
    """Hand each renewal to its case (a BPMN message): it records the date and closes."""
    closed = 0
    for renewal in found:
        case = system.engine.correlate_message(
            renewal.correlation_key, renewal.message, renewal.payload, actor="expiry-scan"
        )
        closed += case is not None and case.status == CaseStatus.CLOSED
    return closed


def register_changed(
    system: System,
    elevator_ids: Collection[int] = (),
    equipment_ids: Collection[int] = (),
    *,
    record_no: str = "register",
) -> int:
    """The register's dates of these elevators (or other equipment) were written (an edit, an
    import, an inspection report, a maintenance visit named by `record_no`): their open expiry
    cases that are overtaken close now, not at the next scan. Call it after the change is
    committed; how many closed."""
    if not elevator_ids and not equipment_ids:
        return 0
    with system.sessions() as session:
        found = renewals(session, elevator_ids, equipment_ids, record_no)
    return close_renewed(system, found)


def retired_cases(session: Session, equipment_ids: Collection[int] | None = None) -> list[int]:
    """Open expiry cases of equipment retired since (报废/注销): nothing is left to inspect."""
    stmt = (
        select(Case.id)
        .join(Equipment, Equipment.id == Case.equipment_id)
        .where(Case.case_type == "expiry", Case.status == CaseStatus.OPEN, Equipment.status == EquipmentStatus.RETIRED)
        .order_by(Case.id)
    )
    if equipment_ids is not None:
        stmt = stmt.where(Case.equipment_id.in_(list(equipment_ids)))
    return list(session.scalars(stmt))


def cancel_retired(system: System, case_ids: Sequence[int], actor: str = "expiry-scan") -> int:
    for case_id in case_ids:
        system.engine.cancel_case(case_id, RETIRED_REASON, actor=actor)
    return len(case_ids)


RETIRED_REASON = "equipment retired"


def equipment_retired(system: System, equipment_id: int, actor: str) -> int:
    """After a retirement is committed: its open expiry cases are cancelled now; how many."""
    with system.sessions() as session:
        found = retired_cases(session, [equipment_id])
    return cancel_retired(system, found, actor)


def _forecast(session: Session, items: Sequence[IntakeItem]) -> ScanResult:
    """What a scan would do, without doing it: keys already taken are skipped, elevators with an
    open case of that kind join it, the others open one."""
    keys = [i.signal["idempotency_key"] for i in items]
    taken: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        taken.update(session.scalars(select(Signal.idempotency_key).where(Signal.idempotency_key.in_(chunk))))
    open_keys = set(
        session.scalars(select(Case.open_key).where(Case.case_type == "expiry", Case.status == CaseStatus.OPEN))
    )
    expiry = CASE_TYPES["expiry"]
    skipped = joined = 0
    for item in items:
        if item.signal["idempotency_key"] in taken:
            skipped += 1
        elif expiry.correlation_key(item.elevator_id, item.signal, item.equipment_id) in open_keys:
            joined += 1
    return ScanResult(len(items) - skipped - joined, joined, skipped, True)


def scan(system: System, *, dry_run: bool = False) -> ScanResult:
    """Open (or join) the expiry cases the register calls for now; with `dry_run`, only count them."""
    sla = load_sla(system.settings.sla_file)
    now = system.clock.now()
    with system.sessions() as session:
        renewed, retired = renewals(session), retired_cases(session)
        if dry_run:
            return replace(_forecast(session, due_signals(session, now, sla)), closed=len(renewed) + len(retired))
    closed = close_renewed(system, renewed) + cancel_retired(system, retired)
    with system.sessions() as session:
        items = due_signals(session, now, sla)
    opened = joined = skipped = 0
    for start in range(0, len(items), CHUNK):
        for result in open_or_join_many(system.engine, system.settings.sla_file, items[start : start + CHUNK]):
            if result.duplicate:
                skipped += 1
            elif result.joined:
                joined += 1
            else:
                opened += 1
    return ScanResult(opened, joined, skipped, False, closed)


JOB = "expiry_scan"


def scan_job(system: System) -> str:
    """The job the daily periodic queues (a worker does the intake, not the scheduler)."""
    return scan(system).line()


def queue_daily_scan(system: System) -> None:
    system.jobs.enqueue(JOB)


# 02:30 Beijing: after midnight's date change, before the working day's first notices.
DAILY = Periodic("expiry_scan", queue_daily_scan, {"hour": 2, "minute": 30})
