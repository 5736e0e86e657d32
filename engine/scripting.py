"""The script engine SpiffWorkflow calls for scripts, conditions, timers and service tasks.

Everything analysts write runs restricted (engine.sandbox) and within limits (engine.limits):
code that engine.bounded shows cheap runs here, the rest in a child process of the worker's pool
(engine.script_pool) that is killed at its deadline. A limit that stops the code raises
ScriptStopped naming the BPMN element; the step turns it into an incident on the case.

A service task's parameters are checked by its ServiceTask (engine.services) when it runs, and
the call is kept instead of acted on: the step applies it once the workflow has settled, in the
same transaction as everything else it wrote.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.bounded import FAST_GUARDS, FAST_MAX_DATA, NotBounded, is_bounded
from engine.limits import Limits, RunBudget, find_stop
from engine.sandbox import Sandbox, SandboxTimeout, iso_helpers
from engine.script_data import TooMuchData, measure, measure_all
from engine.script_pool import shared_pool
from engine.services import ServiceCall, ServiceRegistry
from infra.clock import Clock


class ScriptRunner:
    """Runs one engine run's code: bounded code in this process, the rest in the pool."""

    def __init__(self, clock: Clock, limits: Limits, budget: RunBudget) -> None:
        self.clock = clock
        self.budget = budget
        self.script_seconds = limits.script_seconds
        self.fast = Sandbox(limits.script_seconds, iso_helpers(clock.now), traced=False, guards=FAST_GUARDS)
        self.pool = shared_pool(limits.memory_mb * 1024 * 1024)

    def evaluate(self, expression: str, context: Mapping[str, Any]) -> Any:
        limit = self.budget.next_limit()
        if is_bounded(expression, "eval"):
            try:
                value = self.fast.evaluate(expression, context)
                measure(value, FAST_MAX_DATA)
                return value
            except (NotBounded, TooMuchData):
                pass  # too big for here: the child process decides under the real limits
        return self._in_child("eval", expression, dict(context), limit)

    def execute(self, script: str, context: dict[str, Any]) -> None:
        limit = self.budget.next_limit()
        if is_bounded(script, "exec"):
            trial = dict(context)
            try:
                self.fast.execute(script, trial)
                measure_all({k: v for k, v in trial.items() if context.get(k, trial) is not v}, FAST_MAX_DATA)
            except (NotBounded, TooMuchData):
                pass
            else:
                _replace(context, trial)
                return
        _replace(context, self._in_child("exec", script, context, limit))

    def _in_child(self, kind: str, code: str, context: dict[str, Any], limit: float) -> Any:
        try:
            wait = self.budget.deadline - time.monotonic()  # for a free child: what is left of the run
            return self.pool.run(kind, code, context, self.clock.now(), limit, wait=max(wait, 0.0))
        except SandboxTimeout as err:
            if limit < self.script_seconds:  # it had only what was left of the run's budget
                raise self.budget.out_of_time() from err
            raise


def _replace(context: dict[str, Any], new: dict[str, Any]) -> None:
    """Task data is the task's own dict: change it in place."""
    context.clear()
    context.update(new)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    def __init__(self, runner: ScriptRunner) -> None:
        super().__init__()
        self.runner = runner

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        if external_context:
            context = {**external_context, **context}
        return self.runner.evaluate(expression, context)

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        self.runner.execute(script, context)
        return True


class CaseScriptEngine(PythonScriptEngine):
    def __init__(
        self, clock: Clock, services: ServiceRegistry, time_limit: float = 1.0, limits: Limits | None = None
    ) -> None:
        limits = limits or Limits(script_seconds=time_limit)
        self.budget = RunBudget(limits)  # engine.steps.run_engine counts the run's tasks on it
        super().__init__(environment=SandboxEnvironment(ScriptRunner(clock, limits, self.budget)))
        self.clock = clock
        self.services = services
        self.service_calls: list[ServiceCall] = []  # applied by the step (engine.steps.finish_step)
        self.fired_timers: list[dict[str, Any]] = []

    def validate(self, expression: str) -> None:
        from engine.sandbox import compile_expression

        compile_expression(expression)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except Exception as err:
            _name_element(err, task)
            raise

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        try:
            return super().execute(task, script, external_context)
        except Exception as err:
            _name_element(err, task)
            raise

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


def _name_element(error: Exception, task: Any) -> None:
    stop = find_stop(error)
    if stop is not None:
        stop.at(task.task_spec)
