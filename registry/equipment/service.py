"""Reads and checks of the equipment register (no side effects; processes/equipment.py writes with
the audit entry): what is wrong with a record, its inspection cycle and next due date, the queries."""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from registry.equipment.classes import CLASSES, code_problems
from registry.equipment.models import Equipment
from registry.places import is_key_place
from registry.references import unknown_references
from registry.scope import Scope, equipment_visible


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has no such day: 31 Jan + 1 = 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def record_errors(
    session: Session, fields: Mapping[str, Any], *, province_prefix: str | None, current: Equipment | None = None
) -> dict[str, list[str]]:
    """Per field, why the record (new, or `current` with these changes) is refused; empty when valid."""
    merged = {**_as_fields(current), **fields} if current is not None else dict(fields)
    cls = CLASSES.get(str(merged.get("equipment_class")))
    errors: dict[str, list[str]] = {}
    if cls is None:
        return {"equipment_class": [f"unknown class {merged.get('equipment_class')!r} (known: {', '.join(CLASSES)})"]}
    if "register_code" in fields:
        for problem in code_problems(str(fields["register_code"]), cls, province_prefix):
            errors.setdefault("register_code", []).append(problem)
    if "attributes" in fields or "equipment_class" in fields:
        for where, messages in cls.attribute_errors(merged.get("attributes", {})).items():
            errors.setdefault(f"attributes.{where}" if where != "attributes" else where, []).extend(messages)
    errors.update(unknown_references(session, fields))
    return errors


def completed(fields: dict[str, Any], current: Equipment | None = None) -> dict[str, Any]:
    """The fields with what follows from them: the class's cycle when none is set, the next due date
    from the last inspection, the key-place flag from the place category (unless given)."""
    merged = {**_as_fields(current), **fields} if current is not None else dict(fields)
    cls = CLASSES[merged["equipment_class"]]
    out = dict(fields)
    if fields.get("inspection_cycle_months") is None and (
        current is None or "attributes" in fields or "equipment_class" in fields
    ):
        out["inspection_cycle_months"] = cls.cycle_for(merged.get("attributes") or {})
    cycle = out.get("inspection_cycle_months") or merged.get("inspection_cycle_months")
    if fields.get("last_inspected_on") and "next_inspection_due" not in fields and cycle:
        out["next_inspection_due"] = add_months(fields["last_inspected_on"], int(cycle))
    if "place_category" in fields and "key_place" not in fields:
        out["key_place"] = is_key_place(fields["place_category"])
    return out


def _as_fields(row: Equipment | None) -> dict[str, Any]:
    if row is None:
        return {}
    return {c.key: getattr(row, c.key) for c in Equipment.__table__.columns}


def listing(scope: Scope, args: Mapping[str, Any], today: date) -> Select[tuple[Equipment]]:
    """The equipment in scope with the list's filters: class, district, status, text, key place,
    and `due_within_days` (due by then, expired included)."""
    stmt = select(Equipment).where(equipment_visible(scope))
    for key, column in (
        ("equipment_class", Equipment.equipment_class),
        ("district", Equipment.district_code),
        ("status", Equipment.status),
        ("place_category", Equipment.place_category),
        ("use_unit_id", Equipment.use_unit_id),
    ):
        if args.get(key):
            stmt = stmt.where(column == args[key])
    if args.get("key_place") is not None:
        stmt = stmt.where(Equipment.key_place.is_(args["key_place"]))
    if args.get("q"):
        like = f"%{args['q']}%"
        stmt = stmt.where(Equipment.register_code.like(like) | Equipment.name.like(like) | Equipment.address.like(like))
    if args.get("due_within_days") is not None:
        stmt = stmt.where(Equipment.next_inspection_due <= today + timedelta(days=int(args["due_within_days"])))
    return stmt
