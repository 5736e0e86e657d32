"""Precision and recall of the telemetry rules per warning type on traces written from the contract
(tests/support/lift_traces.py, independent of demo/simulator.py): faults just past their limits and
near misses just under them, faults ended by the next message, boxes gone silent mid-fault, reordered
and redelivered messages, position losses, overspeed and overload.

    .venv/bin/python bench/rules.py [--cars 200] [--hours 6] [--seed 11] [--no-deadlines] [--gate-drops-late]

Last line: `min_precision=… min_recall=…` (DESIGN: ≥ 0.99 for every type).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.lift_traces import fleet
from tests.support.trace_scoring import judge, score


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cars", type=int, default=200)
    parser.add_argument("--hours", type=float, default=6)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--fault-rate", type=float, default=0.5)
    parser.add_argument("--reorder", type=float, default=0.03)
    parser.add_argument("--no-deadlines", action="store_true", help="judge on messages only (no clock)")
    parser.add_argument("--gate-drops-late", action="store_true", help="late messages never reach the rules")
    args = parser.parse_args()

    started = time.perf_counter()
    f = fleet(args.cars, args.hours, seed=args.seed, fault_rate=args.fault_rate, reorder=args.reorder)
    generated = time.perf_counter()
    made = judge(f, deadlines=not args.no_deadlines, late_to_rules=not args.gate_drops_late)
    judged = time.perf_counter()
    scores = score(f.expected, made)
    print(f"{len(f.messages)} status messages from {args.cars} cars over {args.hours} h; {len(f.expected)} expected "
          f"faults; generated in {generated - started:.1f}s, judged in {judged - generated:.1f}s")  # fmt: skip
    print(f"{'warning type':<26}{'expected':>9}{'raised':>8}{'precision':>11}{'recall':>8}")
    for s in scores.values():
        print(f"{s.warning_type:<26}{s.expected:>9}{s.raised:>8}{s.precision:>11.4f}{s.recall:>8.4f}")
    print(f"min_precision={min(s.precision for s in scores.values()):.4f} "
          f"min_recall={min(s.recall for s in scores.values()):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
