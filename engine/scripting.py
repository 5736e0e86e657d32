"""The script engine SpiffWorkflow calls for scripts, conditions, timers and service tasks.

Everything analysts write runs in engine.sandbox; service tasks dispatch to named services
(notify, escalate, and what processes/ registers) that record effects instead of acting, so
the runner persists them in the same transaction as the step.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.sandbox import Sandbox, iso_helpers
from infra.clock import Clock


@dataclass
class Effect:
    """Something a step asks the outside world to do: a notification, an escalation, a flag."""

    kind: str
    params: dict[str, Any]
    bpmn_id: str


ServiceHandler = Callable[[dict[str, Any]], Any]


@dataclass
class ServiceRegistry:
    """Operator name -> handler that validates parameters and returns the task's result value."""

    handlers: dict[str, ServiceHandler] = field(default_factory=dict)

    def register(self, name: str, handler: ServiceHandler) -> None:
        self.handlers[name] = handler

    def __contains__(self, name: str) -> bool:
        return name in self.handlers


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__()
        self.sandbox = sandbox

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        if external_context:
            context = {**external_context, **context}
        return self.sandbox.evaluate(expression, context)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        self.sandbox.execute(script, context)
        return True


class CaseScriptEngine(PythonScriptEngine):
    def __init__(self, clock: Clock, services: ServiceRegistry, time_limit: float = 1.0) -> None:
        super().__init__(environment=SandboxEnvironment(Sandbox(time_limit, iso_helpers(clock.now))))
        self.clock = clock
        self.services = services
        self.effects: list[Effect] = []
        self.fired_timers: list[dict[str, Any]] = []

    def validate(self, expression: str) -> None:
        from engine.sandbox import compile_expression

        compile_expression(expression)

    def call_service(
        self, task: Any, operation_name: str = "", operation_params: Mapping[str, Any] | None = None, **_: Any
    ) -> str:
        handler = self.services.handlers.get(operation_name)
        if handler is None:
            raise ValueError(f"unknown service operator {operation_name!r}")
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        result = handler(params)
        self.effects.append(Effect(operation_name, params, task.task_spec.bpmn_id or task.task_spec.name))
        return json.dumps(result)
