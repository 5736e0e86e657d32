"""BPMN service tasks: the protocol the engine knows, their registry, and the two built-ins.

A service task is one object: its operator name, the check of its parameters (when the BPMN task
runs, inside the script engine; what it returns is the task's result) and its effect, applied
in the step's transaction once the workflow has settled, with its timeline entries.

notify and escalate belong to the engine: they write its outbox (notification rows whose ids are
on the timeline and are handed to `notifications_queued` after the commit) and the case's
escalation level, and ask CaseHooks who is told. Domain service tasks come from processes/
(processes/service_tasks.py), handed to the CaseEngine by the application's bootstrap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from engine.hooks import CaseHooks
from engine.models import EventKind, Notification
from engine.recorder import StepRecorder

_NOTIFICATIONS = Notification.__tablename__


@dataclass(frozen=True)
class ServiceCall:
    """A service task that ran in a step: what its effect is applied with."""

    name: str
    params: dict[str, Any]
    element: str  # the BPMN element id ("manual" for a person's escalation)
    index: int = 0  # its place among the step's calls: part of its notices' dedupe keys


class ServiceTask(Protocol):
    @property
    def name(self) -> str:
        """The operator name a BPMN service task calls it by."""
        ...

    def check(self, params: dict[str, Any]) -> Any:
        """Refuse bad parameters (ValueError) when the task runs; the value is the task's result."""
        ...

    def apply(self, step: StepRecorder, call: ServiceCall) -> None:
        """Carry out the effect in the step's transaction and record it on the case timeline."""
        ...


class ServiceRegistry:
    """Operator name -> its service task (the engine's built-ins and the domain's)."""

    def __init__(self, tasks: Iterable[ServiceTask] = ()) -> None:
        self.handlers: dict[str, ServiceTask] = {}
        for task in tasks:
            self.register(task)

    def register(self, task: ServiceTask) -> None:
        if task.name in self.handlers:
            raise ValueError(f"service operator {task.name!r} is registered twice")
        self.handlers[task.name] = task

    def __contains__(self, name: str) -> bool:
        return name in self.handlers

    def apply(self, calls: Iterable[ServiceCall], step: StepRecorder) -> None:
        for call in calls:
            self.handlers[call.name].apply(step, call)


def _roles(params: dict[str, Any]) -> list[str]:
    roles = params.get("roles") or params.get("role") or []
    return [roles] if isinstance(roles, str) else list(roles)


class Notify:
    """Tell a role's people (each recipient's inbox; other channels fan out on delivery)."""

    name = "notify"

    def __init__(self, hooks: CaseHooks) -> None:
        self.hooks = hooks

    def check(self, params: dict[str, Any]) -> Any:
        if not (params.get("roles") or params.get("role")):
            raise ValueError("notify/escalate need a role or roles parameter")
        return {"queued": True}

    def apply(self, step: StepRecorder, call: ServiceCall) -> None:
        self.queue(step, call, _roles(call.params), str(call.params.get("message") or ""))

    def queue(self, step: StepRecorder, call: ServiceCall, roles: list[str], message: str) -> None:
        """One inbox notice per recipient of each role, and the "notification queued" entry."""
        case, now = step.case, step.now
        cause = f"{case.id}:{case.timeline_seq}:{call.index}:{call.element}"
        rows = [
            {
                "case_id": case.id,
                "role": r.role,
                "organisation_id": r.organisation_id,
                "user_id": r.user_id,
                "channel": "inbox",
                "subject": f"[{case.number}] {message}"[:200],
                "body": message,
                "dedupe_key": f"{cause}:{r.role}:{r.organisation_id}:{r.user_id}:inbox",
                "status": "queued",
                "attempts": 0,
                "created_at": now,
            }
            for role in roles
            for r in self.hooks.recipients(step.session, case, role)
        ]
        ids = step.new_ids(_NOTIFICATIONS, len(rows)) if rows else []
        for row, nid in zip(rows, ids, strict=True):
            row["id"] = nid
        step.notifications.extend(rows)
        step.notification_ids.extend(ids)
        step.event(
            EventKind.NOTIFICATION_QUEUED,
            {"roles": roles, "message": message, "element": call.element, "notifications": ids},
        )


class Escalate(Notify):
    """Raise the case's escalation level (never lower it), then tell the roles like notify."""

    name = "escalate"

    def apply(self, step: StepRecorder, call: ServiceCall) -> None:
        case = step.case
        roles, message = _roles(call.params), str(call.params.get("message") or "")
        level = int(call.params.get("level") or case.escalation_level + 1)
        case.escalation_level = max(case.escalation_level, level)
        step.event(EventKind.ESCALATED, {"level": level, "roles": roles, "reason": message, "element": call.element})
        self.queue(step, call, roles, message)


def builtin_services(hooks: CaseHooks) -> list[ServiceTask]:
    return [Notify(hooks), Escalate(hooks)]
