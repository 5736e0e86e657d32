"""The script engine SpiffWorkflow calls for scripts, conditions, timers and service tasks.

Everything analysts write runs in engine.sandbox. A service task's parameters are checked by its
ServiceTask (engine.services) when it runs, and the call is kept instead of acted on: the step
applies it once the workflow has settled, in the same transaction as everything else it wrote.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.sandbox import Sandbox, iso_helpers
from engine.services import ServiceCall, ServiceRegistry
from infra.clock import Clock


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
        self.service_calls: list[ServiceCall] = []  # applied by the step (engine.steps.finish_step)
        self.fired_timers: list[dict[str, Any]] = []

    def validate(self, expression: str) -> None:
        from engine.sandbox import compile_expression

        compile_expression(expression)

    def call_service(
        self, task: Any, operation_name: str = "", operation_params: Mapping[str, Any] | None = None, **_: Any
    ) -> str:
        service = self.services.handlers.get(operation_name)
        if service is None:
            raise ValueError(f"unknown service operator {operation_name!r}")
        params = {name: p["value"] for name, p in (operation_params or {}).items()}
        result = service.check(params)
        element = task.task_spec.bpmn_id or task.task_spec.name
        self.service_calls.append(ServiceCall(operation_name, params, element, len(self.service_calls)))
        return json.dumps(result)
