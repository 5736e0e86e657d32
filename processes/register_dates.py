"""The register's inspection and maintenance dates, renewed when an inspection passes or a
maintenance visit is recorded: the one place that writes `next_inspection_due` and
`last_maintenance_at` after the register was set up. The expiry BPMN calls it through the
`renew_register` service task (so each write is on the case timeline, in the step's transaction)."""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from infra.settings import CITY_TZ
from processes import register_sync
from registry.equipment.models import Equipment, EquipmentStatus
from registry.models import Elevator
from registry.sync.fields import ELEVATOR, EQUIPMENT, INSPECTION


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has no such day)."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(CITY_TZ).date()
    if isinstance(value, date):
        return value
    text = str(value)
    return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text).astimezone(CITY_TZ).date()


def next_inspection_due(next_due: Any, inspected_on: Any, today: date, cycle_months: int) -> date:
    """The due date the report gives, else one cycle after the inspection (TSG T7001: yearly)."""
    given = as_date(next_due)
    if given is not None:
        return given
    return add_months(as_date(inspected_on) or today, cycle_months)


def maintenance_visit(maintained_on: Any) -> datetime:
    """A visit recorded by its Beijing date counts from that day's start: the next cycle's warnings
    are never late."""
    if isinstance(maintained_on, datetime):
        return maintained_on.astimezone(UTC)
    day = as_date(maintained_on)
    if day is None:
        raise ValueError("a maintenance visit needs its date")
    return datetime.combine(day, time(0), tzinfo=CITY_TZ).astimezone(UTC)


def renew(
    session: Session,
    elevator_id: int,
    *,
    inspection_due: date | None = None,
    maintained_at: datetime | None = None,
    now: datetime,
    by: str,
) -> dict[str, list[str | None]]:
    """Write the new dates to the elevator's row; what changed, field -> [old, new] (ISO). A visit
    older than the one on record does not move the record back. An inspection date is the
    inspection source's word (register sync): a provincial export does not silently undo it."""
    elevator = session.get(Elevator, elevator_id, with_for_update=True)
    if elevator is None:
        return {}
    changes: dict[str, list[str | None]] = {}
    if inspection_due is not None and inspection_due != elevator.next_inspection_due:
        old = elevator.next_inspection_due
        changes["next_inspection_due"] = [old.isoformat() if old else None, inspection_due.isoformat()]
        elevator.next_inspection_due = inspection_due
    if maintained_at is not None:
        last = elevator.last_maintenance_at
        if last is None or maintained_at > last:
            changes["last_maintenance_at"] = [last.isoformat() if last else None, maintained_at.isoformat()]
            elevator.last_maintenance_at = maintained_at
    register_sync.note_word(session, INSPECTION, ELEVATOR, elevator_id, changes, actor=by, now=now)
    return changes


def renew_equipment(
    session: Session, equipment_id: int, inspection_due: date, inspected_on: date | None, *, now: datetime, by: str
) -> dict[str, list[str | None]]:
    """The same for a piece of other special equipment: its next due date (and the inspection's day)."""
    row = session.get(Equipment, equipment_id, with_for_update=True)
    if row is None:
        return {}
    changes: dict[str, list[str | None]] = {}
    for name, value in (("next_inspection_due", inspection_due), ("last_inspected_on", inspected_on)):
        old = getattr(row, name)
        if value is not None and value != old:
            changes[name] = [old.isoformat() if old else None, value.isoformat()]
            setattr(row, name, value)
    if changes:
        row.updated_at = now
    register_sync.note_word(session, INSPECTION, EQUIPMENT, equipment_id, changes, actor=by, now=now)
    return changes


def set_equipment_stopped(session: Session, equipment_id: int, stopped: bool) -> None:
    """停用标记 of other special equipment is its status: in use <-> stopped (a retired record stays so)."""
    row = session.get(Equipment, equipment_id, with_for_update=True)
    if row is None or row.status == EquipmentStatus.RETIRED:
        return
    row.status = EquipmentStatus.STOPPED if stopped else EquipmentStatus.IN_USE
