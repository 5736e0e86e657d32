"""Cost per call of analysts' code: in the worker (engine.bounded's fast path), in a child process
(engine.script_pool, a round trip), and the traced in-process Sandbox the engine used before.

Usage: python bench/sandbox.py [--calls 2000]
Last line: fast_eval_us=… fast_exec_us=… child_eval_us=… child_exec_us=… traced_eval_us=… traced_exec_us=…
child_start_ms=… child_replace_ms=…
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DATA = {
    "reported_at": "2026-11-23T09:30:00+08:00",
    "onsite_within": "PT2H",
    "fix_within": "P1D",
    "address": "成华区建设路 12 号 3 栋",
    "priority": "P2",
    "warning_type": "door_lock_fault",
    "recent_count": 1,
    "repeat_threshold": 3,
    "safety_critical": True,
}
CONDITION = "recent_count >= repeat_threshold"
MESSAGE = "str(priority) + ' 故障预警（' + str(warning_type) + '），请在' + str(onsite_within) + '内：' + str(address)"
STUBBORN = "while True:\n    try:\n        while True:\n            pass\n    except:\n        pass"
SCRIPT = "onsite_deadline = iso_plus(reported_at, onsite_within)\nfix_deadline = iso_plus(reported_at, fix_within)"


def per_call_us(fn, calls: int) -> float:  # type: ignore[no-untyped-def]
    fn()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls * 1e6


def main() -> None:
    from engine.limits import Limits, RunBudget
    from engine.sandbox import Sandbox, iso_helpers
    from engine.script_pool import ScriptPool
    from engine.scripting import ScriptRunner
    from infra.clock import SimulatedClock

    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    calls = parser.parse_args().calls
    now = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    limits = Limits(run_seconds=3600)
    runner = ScriptRunner(SimulatedClock(now), limits, RunBudget(limits))
    pool = ScriptPool(limits.memory_mb * 1024 * 1024, size=1)
    t0 = time.perf_counter()
    pool.run("eval", "1", {}, now, 1.0)
    start_ms = (time.perf_counter() - t0) * 1000
    traced = Sandbox(1.0, iso_helpers(lambda: now))

    def fast_eval() -> None:
        runner.evaluate(CONDITION, DATA)
        runner.evaluate(MESSAGE, DATA)

    def child_eval() -> None:
        pool.run("eval", CONDITION, DATA, now, 1.0)
        pool.run("eval", MESSAGE, DATA, now, 1.0)

    def traced_eval() -> None:
        traced.evaluate(CONDITION, DATA)
        traced.evaluate(MESSAGE, DATA)

    results = {
        "fast_eval_us": per_call_us(fast_eval, calls) / 2,
        "fast_exec_us": per_call_us(lambda: runner.execute(SCRIPT, dict(DATA)), calls),
        "child_eval_us": per_call_us(child_eval, calls) / 2,
        "child_exec_us": per_call_us(lambda: pool.run("exec", SCRIPT, dict(DATA), now, 1.0), calls),
        "traced_eval_us": per_call_us(traced_eval, calls) / 2,
        "traced_exec_us": per_call_us(lambda: traced.execute(SCRIPT, dict(DATA)), calls),
    }
    t0 = time.perf_counter()
    try:
        pool.run("exec", STUBBORN, {}, now, 0.1)
    except Exception:
        pass
    pool.run("eval", "1", {}, now, 1.0)  # waits for the replacement
    replace_ms = (time.perf_counter() - t0 - 0.1 - 0.5) * 1000  # less the limit and the grace before the kill
    pool.close()
    line = " ".join(f"{k}={v:.1f}" for k, v in results.items())
    print(f"# calls={calls}")
    print(f"{line} child_start_ms={start_ms:.1f} child_replace_ms={replace_ms:.1f}")


if __name__ == "__main__":
    main()
