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
from infra.settings import CITY_TZ
from processes import register_dates
from processes.models import Signal
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
        elif case.equipment_id is not None:
            register_dates.set_equipment_stopped(step.session, case.equipment_id, value)
        step.event(
            EventKind.FLAG_SET,
            {
                "service": call.name,
                "element": call.element,
                "flag": "stop_use",
                "value": value,
                "reason": call.params.get("reason"),
                "elevator_id": case.elevator_id,
                "equipment_id": case.equipment_id,
            },
        )


class RenewRegister:
    """登记信息更新: a passed inspection's next due date, a maintenance visit's date, written to
    the register (processes/register_dates.py) and on the case timeline."""

    name = "renew_register"

    def check(self, params: dict[str, Any]) -> Any:
        what = params.get("what")
        if what not in ("inspection", "maintenance"):
            raise ValueError("renew_register needs 'what': 'inspection' or 'maintenance'")
        if params.get("renewed_elsewhere"):
            return {"renewed": what}  # the register already holds the new date
        if what == "inspection":
            if not isinstance(params.get("cycle_months"), int) or params["cycle_months"] < 1:
                raise ValueError("renew_register (inspection) needs a positive int 'cycle_months'")
            register_dates.as_date(params.get("next_due_date"))  # a malformed date is refused here
            register_dates.as_date(params.get("inspected_on"))
        else:
            register_dates.maintenance_visit(params.get("maintained_on"))
        return {"renewed": what}

    def apply(self, step: StepRecorder, call: ServiceCall) -> None:
        case, params = step.case, call.params
        if case.elevator_id is None and case.equipment_id is None:
            return
        changes: dict[str, Any] = {}
        if params.get("renewed_elsewhere"):
            pass  # recorded without the case (an import, a report): the register keeps that date
        elif params["what"] == "inspection":
            today = step.now.astimezone(CITY_TZ).date()
            due = register_dates.next_inspection_due(
                params.get("next_due_date"), params.get("inspected_on"), today, params["cycle_months"]
            )
            if case.elevator_id is None:
                assert case.equipment_id is not None
                inspected = register_dates.as_date(params.get("inspected_on"))
                changes = register_dates.renew_equipment(
                    step.session, case.equipment_id, due, inspected, now=step.now, by=step.actor
                )
            else:
                changes = register_dates.renew(
                    step.session, case.elevator_id, inspection_due=due, now=step.now, by=step.actor
                )
        elif case.elevator_id is not None:
            visit = register_dates.maintenance_visit(params.get("maintained_on"))
            changes = register_dates.renew(
                step.session, case.elevator_id, maintained_at=visit, now=step.now, by=step.actor
            )
        step.event(
            EventKind.REGISTER_UPDATED,
            {
                "service": call.name,
                "element": call.element,
                "elevator_id": case.elevator_id,
                "equipment_id": case.equipment_id,
                "changes": changes,
                "renewed_elsewhere": bool(params.get("renewed_elsewhere")),
            },
        )


class OrderLinkedCase:
    """责令检验/整改: a regulator's order becomes a case of its own (an inspection: an expiry case
    due by the order's date; a rectification). The order is written as a pending signal in the
    step's transaction; the supervision job opens the case from it and tells this case."""

    name = "order_linked_case"
    ORDERS = ("expiry", "rectification")

    def check(self, params: dict[str, Any]) -> Any:
        if params.get("case_type") not in self.ORDERS:
            raise ValueError(f"order_linked_case orders one of {self.ORDERS}")
        if not isinstance(params.get("elevator_id"), int):
            raise ValueError("order_linked_case needs the elevator_id the case is about")
        return {"ordered": params["case_type"]}

    def apply(self, step: StepRecorder, call: ServiceCall) -> None:
        case, params = step.case, call.params
        order = {
            "case_type": params["case_type"],
            "elevator_id": params["elevator_id"],
            "reason": str(params.get("reason") or ""),
            "findings": [str(f) for f in params.get("findings") or []],
            "supervision_case_id": case.id,
            "supervision_number": case.number,
        }
        step.session.add(
            Signal(
                idempotency_key=f"supervision-order:{case.id}",
                source="supervision",
                kind="order",
                elevator_id=params["elevator_id"],
                payload=order,
                case_id=None,  # set when the linked case is open
                joined=False,
                received_at=step.now,
            )
        )
        step.event(EventKind.FLAG_SET, {"service": call.name, "element": call.element, "flag": "order", **order})


SERVICE_TASKS: tuple[ServiceTask, ...] = (SetStopUse(), RenewRegister(), OrderLinkedCase())
