"""The domain's BPMN service tasks, besides the engine's own notify and escalate (engine.services).

Each is one object: its operator name, its parameter check and its effect in the step's
transaction. SERVICE_TASKS lists them all; the bootstrap hands them to the CaseEngine, and a
BPMN that calls an operator not listed is refused at deploy.
"""

from __future__ import annotations

from typing import Any

from engine.models import EventKind
from engine.recorder import StepRecorder
from engine.services import ServiceCall, ServiceTask
from registry.models import Elevator


class SetStopUse:
    """停用标记: the elevator is flagged out of use (expired inspection, failed re-inspection)."""

    name = "set_stop_use"

    def check(self, params: dict[str, Any]) -> Any:
        if not isinstance(params.get("value"), bool):
            raise ValueError("set_stop_use needs a boolean 'value' parameter")
        return {"stop_use": params["value"]}

    def apply(self, step: StepRecorder, call: ServiceCall) -> None:
        case, value = step.case, bool(call.params["value"])
        elevator = step.session.get(Elevator, case.elevator_id) if case.elevator_id else None
        if elevator is not None:
            elevator.stop_use = value
        step.event(
            EventKind.FLAG_SET,
            {
                "service": call.name,
                "element": call.element,
                "flag": "stop_use",
                "value": value,
                "reason": call.params.get("reason"),
                "elevator_id": case.elevator_id,
            },
        )


SERVICE_TASKS: tuple[ServiceTask, ...] = (SetStopUse(),)
