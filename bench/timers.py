"""Timers in a burst: N rescue cases whose level-2 timers (5 min after the report) fall due at one
instant, fired by `liftcase scheduler` processes (deployed shape: PostgreSQL, notices queued on
Redis for rq), and how late each firing became visible.

On time: the cases are opened on a simulated clock set 5 minutes before a real instant T a little
in the future, so their timers are due at T by the wall clock; the schedulers run with the real
clock. The bench polls the timeline every 20 ms: a firing's lateness is the wall time its
`timer_fired` entry was first seen committed minus T (real lateness, polling adds at most 20 ms).

Catch-up: as many cases whose timers are already overdue when the schedulers start (a backlog
after downtime): fired_per_s is their count over the time from the first firing seen to the last
(the schedulers' throughput, without the time they take to start). Baseline, same run: the old
way, one case per transaction (CaseEngine.fire_timers), in this process on a sample of overdue
cases of the same kind.

Every run checks each timer fired exactly once (duplicates, missing: by case and BPMN element).

Usage: python bench/timers.py [--timers 1000] [--schedulers 1] [--baseline 150]
Env: LIFTCASE_BENCH_PG (admin URL), LIFTCASE_BENCH_REDIS (a Redis database of its own: flushed).
Last line: timers= schedulers= fired_per_s= p50_late_ms= p99_late_ms= max_late_ms= duplicates= missing=
Targets: one scheduler p99 <= 1000 ms, max <= 2000 ms; two: fired_per_s higher, duplicates=0, missing=0.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.mqtt_setup import FreshDatabase  # noqa: E402  (a fresh PostgreSQL database per run)

PG = os.environ.get("LIFTCASE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("LIFTCASE_BENCH_REDIS", "redis://127.0.0.1:6379/13")
ELEMENT = "t_level2"  # the rescue's "not accepted 5 minutes after the report" timer
LADDER = timedelta(minutes=5)
LOOKAHEAD = 60.0  # the scheduler's default (Settings.timer_lookahead_seconds)


@dataclass
class Burst:
    system: object
    expected: set[tuple[int, str]]  # (case id, BPMN element) of every timer due at `due`
    due: datetime


def prepare(url: str, elevators: int):  # type: ignore[no-untyped-def]
    from demo.seed import seed_city
    from infra.clock import SimulatedClock
    from infra.settings import Settings
    from liftcase.bootstrap import build_system, create_schema

    clock = SimulatedClock(datetime.now(UTC))
    system = build_system(Settings(database_url=url, redis_url=REDIS), clock=clock)
    create_schema(system)
    with system.sessions() as session, session.begin():
        seed_city(session, elevators=elevators, devices=20, clock_now=clock.now())
    system.deploy_processes()
    return system, clock


def open_rescues(system, clock, elevator_ids: list[int], due: datetime) -> Burst:  # type: ignore[no-untyped-def]
    """Open one rescue per elevator, reported 5 minutes before `due` (simulated clock)."""
    from processes.intake import IntakeItem, open_or_join_many

    clock.set(due - LADDER)
    items = [IntakeItem("rescue", e, {"source": "iot", "kind": "trapped"}, "system") for e in elevator_ids]
    ids: list[int] = []
    for i in range(0, len(items), 100):
        ids += [r.case_id for r in open_or_join_many(system.engine, system.settings.sla_file, items[i : i + 100])]
    if len(set(ids)) != len(elevator_ids):
        raise SystemExit(f"setup: {len(set(ids))} cases opened for {len(elevator_ids)} elevators")
    if datetime.now(UTC) > due:
        print(f"warning: opening the cases ended after their timers' due time {due}: raise the lead", flush=True)
    return Burst(system, {(cid, ELEMENT) for cid in ids}, due)


def spawn_schedulers(url: str, n: int, log: Path, lookahead: float | None = None) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "LIFTCASE_DATABASE_URL": url, "LIFTCASE_REDIS_URL": REDIS}
    if lookahead is not None:
        env["LIFTCASE_TIMER_LOOKAHEAD_SECONDS"] = str(lookahead)
    return [
        subprocess.Popen(
            [sys.executable, "-m", "liftcase.cli", "scheduler"],
            env=env,
            cwd=ROOT,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        for _ in range(n)
    ]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def watch(url: str, expected: int, timeout: float) -> list[tuple[int, str, str, float]]:
    """(case id, element, due, wall time first seen) of every timer_fired entry, polled every 20 ms
    until `expected` were seen and 2 s passed without a new one (a duplicate would show), or timeout."""
    engine = create_engine(url)
    seen: list[tuple[int, str, str, float]] = []
    last_id, quiet_since, deadline = 0, None, time.monotonic() + timeout
    query = text(
        "SELECT id, case_id, payload->>'element' AS element, payload->>'due' AS due FROM timeline_events "
        "WHERE kind = 'timer_fired' AND id > :last ORDER BY id"
    )
    with engine.connect() as conn:
        # Entries written from now on have higher ids (every process takes new sequence blocks).
        last_id = conn.execute(text("SELECT coalesce(max(id), 0) FROM timeline_events")).scalar_one()
        conn.commit()
        while time.monotonic() < deadline:
            rows = conn.execute(query, {"last": last_id}).all()
            conn.commit()
            at = time.time()
            for r in rows:
                seen.append((r.case_id, r.element, r.due, at))
                last_id = max(last_id, r.id)
            if rows:
                quiet_since = None
            elif len(seen) >= expected:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 2:
                    break
            time.sleep(0.02)
    engine.dispose()
    return seen


def exactly_once(expected: set[tuple[int, str]], seen: list[tuple[int, str, str, float]]) -> tuple[int, int]:
    counts = Counter((c, e, d) for c, e, d, _ in seen)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    fired = {(c, e) for c, e, _, _ in seen}
    return duplicates, len(expected - fired)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def on_time(n: int, schedulers: int, log: Path) -> tuple[list[float], int, int, float]:
    db = FreshDatabase("liftcase_bench_timers")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        system, clock = prepare(db.url, n)
        from registry.models import Elevator

        with system.sessions() as session:
            elevator_ids = list(session.scalars(select(Elevator.id).order_by(Elevator.id).limit(n)))
        procs = spawn_schedulers(db.url, schedulers, log)  # they idle until something is due
        # Time to open the cases (about 30/s here under load), then the schedulers' lookahead.
        lead = LOOKAHEAD + 10 + n / 30
        due = (datetime.now(UTC) + timedelta(seconds=lead)).replace(microsecond=0)
        t0 = time.monotonic()
        burst = open_rescues(system, clock, elevator_ids, due)
        opening = time.monotonic() - t0
        left = (due - datetime.now(UTC)).total_seconds()
        print(f"on time: {n} cases opened in {opening:.1f} s; timers due in {left:.1f} s", flush=True)
        seen = watch(db.url, len(burst.expected), timeout=left + 120)
        late = [(at - due.timestamp()) * 1000 for c, e, d, at in seen if (c, e) in burst.expected]
        duplicates, missing = exactly_once(burst.expected, seen)
        system.db.dispose()  # type: ignore[attr-defined]
        return late, duplicates, missing, opening
    finally:
        stop(procs)
        db.drop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc): steadier than rates on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ready_lines(log: Path) -> int:
    text_ = log.read_text(errors="replace") if log.exists() else ""
    return text_.count("timer loop running")


def catch_up(
    n: int, baseline: int, schedulers: int, log: Path, opening: float
) -> tuple[float, float, list[float], int, int]:
    """Throughput without stepping ahead (lookahead 0: every timer is stepped once due, as after
    downtime): (schedulers' fired per s, one-case-at-a-time fired per s, lateness, duplicates,
    missing). Fired per s is the count over the time from the due instant (or the schedulers' being
    ready, if later) to the last firing seen."""
    db = FreshDatabase("liftcase_bench_timers_backlog")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        system, clock = prepare(db.url, n + baseline)
        from infra.clock import SystemClock
        from registry.models import Elevator

        with system.sessions() as session:
            elevator_ids = list(session.scalars(select(Elevator.id).order_by(Elevator.id).limit(n + baseline)))
        # Baseline: overdue cases, one transaction each (CaseEngine.fire_timers), on the real clock.
        sample = open_rescues(system, clock, elevator_ids[:baseline], datetime.now(UTC) - timedelta(seconds=1))
        system.engine.clock = SystemClock()  # type: ignore[attr-defined]
        t0, cpu0 = time.perf_counter(), time.process_time()
        for case_id, _ in sorted(sample.expected):
            system.engine.fire_timers(case_id)  # type: ignore[attr-defined]
        one_by_one = len(sample.expected) / (time.perf_counter() - t0)
        one_by_one_cpu_ms = (time.process_time() - cpu0) * 1000 / len(sample.expected)
        system.engine.clock = clock  # type: ignore[attr-defined]
        due = (datetime.now(UTC) + timedelta(seconds=opening * 1.3 + 15)).replace(microsecond=0)
        burst = open_rescues(system, clock, elevator_ids[baseline:], due)
        started = _ready_lines(log)
        procs = spawn_schedulers(db.url, schedulers, log, lookahead=0)
        while _ready_lines(log) < started + schedulers:  # imported, processes parsed, polling
            time.sleep(0.1)
        ready = time.time()
        cpu_ready = sum(cpu_seconds(p.pid) for p in procs)
        left = (due - datetime.now(UTC)).total_seconds()
        seen = [
            s
            for s in watch(db.url, len(burst.expected) + baseline, timeout=left + 300)
            if (s[0], s[1]) in burst.expected
        ]
        cpu_ms = (sum(cpu_seconds(p.pid) for p in procs) - cpu_ready) * 1000 / max(1, len(seen))
        print(f"CPU per timer: schedulers {cpu_ms:.1f} ms, one case per transaction {one_by_one_cpu_ms:.1f} ms "
              f"(client side; ratio {one_by_one_cpu_ms / cpu_ms:.1f}x)", flush=True)  # fmt: skip
        late = [(at - due.timestamp()) * 1000 for *_, at in seen]
        # From the due instant, or from when the schedulers were ready if they came later.
        rate = len(seen) / (max(at for *_, at in seen) - max(due.timestamp(), ready)) if seen else float("nan")
        duplicates, missing = exactly_once(burst.expected, seen)
        system.db.dispose()  # type: ignore[attr-defined]
        return rate, one_by_one, late, duplicates, missing
    finally:
        stop(procs)
        db.drop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timers", type=int, default=1000)
    parser.add_argument("--schedulers", type=int, default=1)
    parser.add_argument("--baseline", type=int, default=150, help="overdue cases fired one at a time, for the ratio")
    args = parser.parse_args()
    from redis import Redis

    redis = Redis.from_url(REDIS)
    redis.flushdb()  # the notices' jobs this bench queues (nobody works them off)
    log = Path(f"/tmp/liftcase_bench_timers_{os.getpid()}.log")
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}", flush=True)
    late, dup1, miss1, opening = on_time(args.timers, args.schedulers, log)
    worst = max(late, default=float("nan"))
    print(f"on time: p50_late_ms={pct(late, 0.5):.0f} p99_late_ms={pct(late, 0.99):.0f} max_late_ms={worst:.0f} "
          f"duplicates={dup1} missing={miss1}", flush=True)  # fmt: skip
    rate, one_by_one, backlog_late, dup2, miss2 = catch_up(args.timers, args.baseline, args.schedulers, log, opening)
    redis.flushdb()
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
    print(
        f"without stepping ahead (lookahead 0): fired_per_s={rate:.0f} p50_late_ms={pct(backlog_late, 0.5):.0f} "
        f"p99_late_ms={pct(backlog_late, 0.99):.0f} max_late_ms={max(backlog_late, default=float('nan')):.0f}"
    )
    print(f"baseline, one case per transaction ({args.baseline} overdue cases, this process): {one_by_one:.1f}/s; "
          f"ratio={rate / one_by_one:.1f}x")  # fmt: skip
    errors = [line for line in log.read_text(errors="replace").splitlines() if " ERROR " in line or "Traceback" in line]
    print(f"scheduler log {log}: {len(errors)} error lines")
    print(
        f"timers={args.timers} schedulers={args.schedulers} fired_per_s={rate:.0f} p50_late_ms={pct(late, 0.5):.0f} "
        f"p99_late_ms={pct(late, 0.99):.0f} max_late_ms={max(late, default=float('nan')):.0f} "
        f"duplicates={dup1 + dup2} missing={miss1 + miss2}"
    )


if __name__ == "__main__":
    main()
