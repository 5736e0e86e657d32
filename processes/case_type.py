"""What a case type is: which BPMN it runs, its number prefix, its start variables and dedupe key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from registry.equipment.models import Equipment
from registry.models import District, Elevator


@dataclass(frozen=True)
class StartContext:
    elevator: Elevator | None
    district: District | None
    signal: dict[str, Any]
    sla: dict[str, Any]
    equipment: Equipment | None = None  # a case about another class of special equipment


@dataclass(frozen=True)
class CaseType:
    key: str
    process_key: str
    prefix: str
    title: str
    variables: Callable[[StartContext], dict[str, Any]]
    priority: Callable[[StartContext], str | None] = lambda ctx: None
    # Task (BPMN id) whose completion marks a named milestone, in lifecycle order (SLA metrics).
    milestones: dict[str, str] = field(default_factory=dict)

    def correlation_key(
        self, elevator_id: int | None, signal: dict[str, Any], equipment_id: int | None = None
    ) -> str | None:
        """One open case per elevator (or piece of other equipment) and type (DESIGN); later signals join it."""
        subject = subject_key(elevator_id, equipment_id)
        return f"{self.key}:{subject}" if subject else None


def subject_key(elevator_id: int | None, equipment_id: int | None) -> str | None:
    """What a case is about in its correlation key: an elevator by its id (as ever), other equipment
    as `equipment:<id>` (the two registers number their rows apart)."""
    if elevator_id is not None:
        return str(elevator_id)
    return f"equipment:{equipment_id}" if equipment_id is not None else None


def elevator_facts(ctx: StartContext) -> dict[str, Any]:
    e = ctx.elevator
    if e is None:
        return equipment_facts(ctx)
    return {
        "elevator_id": e.id,
        "register_code": e.register_code,
        "address": e.address,
        "district_code": e.district_code,
    }


def equipment_facts(ctx: StartContext) -> dict[str, Any]:
    """The facts of a case about equipment of another class (the case page shows them)."""
    q = ctx.equipment
    if q is None:
        return {}
    return {
        "equipment_id": q.id,
        "equipment_class": q.equipment_class,
        "equipment_name": q.name,
        "register_code": q.register_code,
        "address": q.address,
        "district_code": q.district_code,
    }
