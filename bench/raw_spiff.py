"""SpiffWorkflow alone, as the benchmarks' baseline measured in the same run: no database, no
timeline, no notices, no HTTP — the library's own cost for the same BPMN.

A script's directory is first on sys.path, where bench/engine.py would shadow the engine package:
the project's modules are imported inside the functions, after the benchmark put the project first.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def raw_parts(bpmn: Path, process: str) -> tuple[Any, Any, Any, Any]:
    """`process`'s spec and subprocess specs, the library's own JSON serializer, and a plain script
    engine with the same time helpers as ours."""
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.parser import SpiffBpmnParser
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

    from engine.sandbox import iso_helpers

    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(bpmn))
    spec, subs = parser.get_spec(process), parser.get_subprocess_specs(process)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    class RawEngine(PythonScriptEngine):
        def call_service(self, task, **kwargs):  # type: ignore[no-untyped-def]
            # raw Spiff has no notify service: answer like ours does, with no side effects
            return '{"queued": true}'

    engine = RawEngine()
    engine.environment.globals.update(iso_helpers(lambda: datetime.now(UTC)))
    return spec, subs, serializer, engine


RAW_CPU: dict[str, float] = {}  # CPU seconds per raw start / completion (raw_spiff)


def raw_spiff(bpmn: Path, process: str, variables: dict, cases: int, task: tuple | None) -> tuple[float, float]:
    """SpiffWorkflow alone: create + run + JSON round trip per start; load + complete + run + dump per completion."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    spec, subs, serializer, engine = raw_parts(bpmn, process)
    states = []
    c0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(cases):
        wf = BpmnWorkflow(spec, subs, script_engine=engine)
        for t in wf.get_tasks(state=TaskState.READY):
            t.data.update(variables)
        wf.do_engine_steps()
        states.append(serializer.serialize_json(wf))
        serializer.deserialize_json(states[-1])
    start_s = time.perf_counter() - t0
    RAW_CPU["start"] = (time.process_time() - c0) / cases
    c0 = time.process_time()
    t0 = time.perf_counter()
    for state in states:
        wf = serializer.deserialize_json(state)
        wf.script_engine = engine
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        if ready:
            ready[0].data.update(task[1] if task else {})
            ready[0].run()
        wf.do_engine_steps()
        serializer.serialize_json(wf)
    complete_s = time.perf_counter() - t0
    RAW_CPU["complete"] = (time.process_time() - c0) / cases
    return cases / start_s, cases / complete_s


def raw_whole_rescue(variables: dict[str, Any], tasks: list[tuple[str, dict[str, Any]]], cases: int) -> float:
    """A whole rescue as a stateless server steps it, restoring each step from the stored state:
    create + run + dump, then per task (bpmn id, form data) load + complete + run + dump. CPU
    seconds per case: the library's own floor under what the benchmarks' whole-rescue CPU measures."""
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    spec, subs, serializer, engine = raw_parts(ROOT / "bpmn" / "rescue.bpmn", "rescue")
    c0 = time.process_time()
    for _ in range(cases):
        wf = BpmnWorkflow(spec, subs, script_engine=engine)
        reported = {"reported_at": datetime.now(UTC).isoformat()}  # as intake sets it: no deadline passed
        for t in wf.get_tasks(state=TaskState.READY):
            t.data.update(variables, **reported)
        wf.do_engine_steps()
        state = serializer.serialize_json(wf)
        for bpmn_id, data in tasks:
            wf = serializer.deserialize_json(state)
            wf.script_engine = engine
            task = next(t for t in wf.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == bpmn_id)
            task.data.update(data)
            task.run()
            wf.do_engine_steps()
            state = serializer.serialize_json(wf)
    return (time.process_time() - c0) / cases
