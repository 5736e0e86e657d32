"""Changes to the register of special equipment (add, edit, retire, bulk import), each written with
its admin audit entry in the caller's transaction, as processes/administration.py does for elevators.
Nothing is deleted: a record with history is retired, and a retired record is not changed again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from infra.errors import Conflict
from processes import admin_audit, register_sync
from registry.equipment.importing import import_equipment
from registry.equipment.models import Equipment, EquipmentStatus
from registry.equipment.service import completed
from registry.importing import ImportReport
from registry.sync.fields import EQUIPMENT


def _target(row: Equipment) -> dict[str, Any]:
    return {"type": "equipment", "id": row.id, "name": row.register_code}


def add_equipment(session: Session, fields: dict[str, Any], *, actor: str, now: datetime) -> Equipment:
    """A new record (the caller checked it: registry.equipment.service.record_errors)."""
    row = Equipment(**{"status": EquipmentStatus.IN_USE, **completed(fields), "created_at": now, "updated_at": now})
    session.add(row)
    session.flush()  # the id; a duplicate register code fails here, before anything is recorded
    admin_audit.record(session, "equipment.created", actor=actor, at=now, target=_target(row), changes=fields)
    return row


def edit_equipment(
    session: Session, row: Equipment, changes: dict[str, Any], *, actor: str, now: datetime
) -> Equipment:
    if row.status == EquipmentStatus.RETIRED:
        raise Conflict(f"{row.register_code} is retired; its record is kept as it was")
    diff: dict[str, Any] = {}
    for key, value in completed(changes, row).items():
        before = getattr(row, key)
        if before != value:
            diff[key] = [before, value]
            setattr(row, key, value)
    if diff:
        row.updated_at = now
        admin_audit.record(session, "equipment.updated", actor=actor, at=now, target=_target(row), changes=diff)
        register_sync.note_local_edit(session, EQUIPMENT, row.id, diff, actor=actor, now=now)
    return row


def retire_equipment(session: Session, row: Equipment, *, reason: str, actor: str, now: datetime) -> Equipment:
    """Out of the register for good (报废/注销): it leaves the counts and the expiry scan, keeps its history."""
    if row.status == EquipmentStatus.RETIRED:
        raise Conflict(f"{row.register_code} is already retired")
    before = row.status
    row.status, row.retired_at, row.retired_reason, row.updated_at = EquipmentStatus.RETIRED, now, reason, now
    changes = {"status": [before, row.status], "reason": reason}
    admin_audit.record(session, "equipment.retired", actor=actor, at=now, target=_target(row), changes=changes)
    return row


def import_equipment_rows(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    dry_run: bool,
    filename: str,
    province_prefix: str | None,
    actor: str,
    now: datetime,
) -> ImportReport:
    """The bulk import (registry.equipment.importing), one entry for the file when it wrote anything."""
    report = import_equipment(session, rows, now=now, dry_run=dry_run, province_prefix=province_prefix)
    if not dry_run:
        admin_audit.record_import(
            session, report, "equipment.imported", "equipment_import", filename=filename, actor=actor, at=now
        )
    return report
