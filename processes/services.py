"""Domain service tasks the BPMN may call besides notify/escalate (engine built-ins)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.models import Case
from engine.scripting import ServiceRegistry
from registry.models import Elevator


def check_stop_use(params: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(params.get("value"), bool):
        raise ValueError("set_stop_use needs a boolean 'value' parameter")
    return {"stop_use": params["value"]}


def apply_stop_use(session: Session, case: Case, params: dict[str, Any]) -> dict[str, Any]:
    """停用标记: the elevator is flagged out of use (expired inspection, failed re-inspection)."""
    elevator = session.get(Elevator, case.elevator_id) if case.elevator_id else None
    if elevator is not None:
        elevator.stop_use = bool(params["value"])
    return {
        "flag": "stop_use",
        "value": bool(params["value"]),
        "reason": params.get("reason"),
        "elevator_id": case.elevator_id,
    }


def domain_services() -> tuple[ServiceRegistry, dict[str, Any]]:
    """(engine-side parameter checks, effect handlers applied in the step's transaction)."""
    registry = ServiceRegistry()
    registry.register("set_stop_use", check_stop_use)
    return registry, {"set_stop_use": apply_stop_use}
