"""What a case type is: which BPMN it runs, its number prefix, its start variables and dedupe key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from registry.models import District, Elevator


@dataclass(frozen=True)
class StartContext:
    elevator: Elevator | None
    district: District | None
    signal: dict[str, Any]
    sla: dict[str, Any]


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

    def correlation_key(self, elevator_id: int | None, signal: dict[str, Any]) -> str | None:
        """One open case per elevator and type (DESIGN); later signals join it."""
        if elevator_id is None:
            return None
        return f"{self.key}:{elevator_id}"


def elevator_facts(ctx: StartContext) -> dict[str, Any]:
    e = ctx.elevator
    if e is None:
        return {}
    return {
        "elevator_id": e.id,
        "register_code": e.register_code,
        "address": e.address,
        "district_code": e.district_code,
    }
