"""The figures the special-equipment screen shows, within the viewer's scope: how many pieces of each
class (elevators included) are in use, stopped or retired; how many are past their inspection date or
due within 30 and 60 days, also per district (the screen's data layer: its rows add up to the class's
figures); and coverage: IoT boxes per elevator, per place category, at key places."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from registry.equipment.classes import CLASSES
from registry.equipment.models import Equipment, EquipmentStatus
from registry.models import Elevator
from registry.places import LABELS_ZH, is_key_place
from registry.scope import Scope, elevators_visible, equipment_visible

DUE_SOON = (30, 60)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _due_columns(due: Any, today: date) -> list[Any]:
    return [
        func.count().filter(due < today),
        *(func.count().filter(due >= today, due <= today + timedelta(days=days)) for days in DUE_SOON),
    ]


def _class_row(key: str, zh: str, en: str, counts: Any) -> dict[str, Any]:
    total, in_use, stopped, retired, expired, due30, due60 = (int(v or 0) for v in counts)
    return {
        "equipment_class": key,
        "name_zh": zh,
        "name_en": en,
        "total": total,  # not retired
        "in_use": in_use,
        "stopped": stopped,
        "retired": retired,
        "expired": expired,
        "due_30": due30,
        "due_60": due60,
    }


def by_class(session: Session, scope: Scope, today: date) -> list[dict[str, Any]]:
    """One row per class, the elevator first; expiries count equipment in use or stopped only."""
    lift = session.execute(
        select(
            func.count(),
            func.count().filter(Elevator.stop_use.is_(False)),
            func.count().filter(Elevator.stop_use.is_(True)),
            literal(0),  # an elevator is not retired here: it leaves the register
            *_due_columns(Elevator.next_inspection_due, today),
        ).where(elevators_visible(scope))
    ).one()
    rows = [_class_row("elevator", "电梯", "Elevator", lift)]
    live = Equipment.status != EquipmentStatus.RETIRED
    stmt = (
        select(
            Equipment.equipment_class,
            func.count().filter(live),
            func.count().filter(Equipment.status == EquipmentStatus.IN_USE),
            func.count().filter(Equipment.status == EquipmentStatus.STOPPED),
            func.count().filter(Equipment.status == EquipmentStatus.RETIRED),
            *(column.filter(live) for column in _due_columns(Equipment.next_inspection_due, today)),
        )
        .where(equipment_visible(scope))
        .group_by(Equipment.equipment_class)
    )
    found = {row[0]: row[1:] for row in session.execute(stmt)}
    for cls in CLASSES.values():
        rows.append(_class_row(cls.key, cls.name_zh, cls.name_en, found.get(cls.key, (0,) * 7)))
    return rows


def by_district(session: Session, scope: Scope, today: date) -> list[dict[str, Any]]:
    """Per district and class (elevators first), counted as `by_class` counts: what is on the
    register (not retired), past its date, due within 30 days. Districts with none are left out."""
    soon = today + timedelta(days=DUE_SOON[0])

    def counts(due: Any) -> list[Any]:
        return [func.count(), func.count().filter(due < today), func.count().filter(due >= today, due <= soon)]

    lifts = session.execute(
        select(Elevator.district_code, *counts(Elevator.next_inspection_due))
        .where(elevators_visible(scope))
        .group_by(Elevator.district_code)
    )
    rows = [("elevator", *row) for row in lifts]
    rows += session.execute(
        select(Equipment.equipment_class, Equipment.district_code, *counts(Equipment.next_inspection_due))
        .where(equipment_visible(scope), Equipment.status != EquipmentStatus.RETIRED)
        .group_by(Equipment.equipment_class, Equipment.district_code)
    ).all()
    order = {key: i for i, key in enumerate(["elevator", *CLASSES])}
    out = [
        {"equipment_class": key, "district_code": code, "total": total, "expired": expired, "due_30": due30}
        for key, code, total, expired, due30 in rows
    ]
    return sorted(out, key=lambda r: (order.get(r["equipment_class"], len(order)), r["district_code"] or ""))


def coverage(session: Session, scope: Scope) -> dict[str, Any]:
    """IoT boxes per elevator, overall, per place category and at key places (重点场所)."""
    boxed = func.count(Elevator.device_id)
    stmt = (
        select(Elevator.place_category, func.count(), boxed, func.count().filter(Elevator.key_place.is_(True)))
        .where(elevators_visible(scope))
        .group_by(Elevator.place_category)
    )
    categories = []
    total = with_box = 0
    for category, count, boxes, key_places in session.execute(stmt):
        total, with_box = total + count, with_box + boxes
        categories.append({
            "place_category": category,
            "label_zh": LABELS_ZH.get(category or "", "未登记"),
            "key_place": is_key_place(category),
            "elevators": count,
            "key_place_elevators": key_places,
            "with_box": boxes,
            "ratio": _ratio(boxes, count),
        })  # fmt: skip
    key = session.execute(
        select(func.count(), boxed).where(elevators_visible(scope), Elevator.key_place.is_(True))
    ).one()
    categories.sort(key=lambda c: (-c["elevators"], c["place_category"] or ""))
    return {
        "elevators": total,
        "with_box": with_box,
        "boxes_per_elevator": _ratio(with_box, total),
        "key_places": {"elevators": key[0], "with_box": key[1], "ratio": _ratio(key[1], key[0])},
        "by_place_category": categories,
    }


def equipment_figures(session: Session, scope: Scope, today: date) -> dict[str, Any]:
    return {
        "today": today.isoformat(),
        "classes": by_class(session, scope, today),
        "by_district": by_district(session, scope, today),
        "coverage": coverage(session, scope),
    }
