"""Precision and recall of the telemetry rules per warning type, on simulated ground truth.

    .venv/bin/python bench/detect.py [--devices 300] [--hours 6] [--fault-rate 0.08]

The simulator (demo/simulator.py) plays normal service with injected faults for each car
and logs what it injected; the rules judge the same stream. Last line:
`min_precision=… min_recall=…` (target ≥ 0.99 for every type).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo.rules_check import run_rules, score
from demo.simulator import city_stream
from detectors.rules.thresholds import load_thresholds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=300)
    parser.add_argument("--hours", type=float, default=6)
    parser.add_argument("--fault-rate", type=float, default=0.08)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    devices = [(f"SIM-{n:05d}", rng.randint(6, 33)) for n in range(1, args.devices + 1)]
    book = load_thresholds()
    thresholds = {d: book.for_elevator(None, floors) for d, floors in devices}
    started = time.perf_counter()
    stream = city_stream(devices, datetime(2026, 11, 23, tzinfo=UTC), args.hours * 3600, seed=args.seed,
                         fault_rate=args.fault_rate)  # fmt: skip
    generated = time.perf_counter()
    findings = run_rules(stream, thresholds)
    judged = time.perf_counter()
    scores = score(stream.truth, findings)
    print(f"{len(stream.messages)} status messages from {len(devices)} cars over {args.hours} h; "
          f"{len(stream.truth)} injected faults; generated in {generated - started:.1f}s, "
          f"judged in {judged - generated:.1f}s")  # fmt: skip
    print(f"{'warning type':<26}{'truth':>7}{'found':>7}{'precision':>11}{'recall':>8}")
    for s in scores.values():
        print(f"{s.warning_type:<26}{s.truth:>7}{s.found:>7}{s.precision:>11.4f}{s.recall:>8.4f}")
    print(f"min_precision={min(s.precision for s in scores.values()):.4f} "
          f"min_recall={min(s.recall for s in scores.values()):.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
