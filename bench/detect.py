"""Precision and recall of the telemetry rules per warning type, on simulated ground truth; with
`--ingest`, through real ingest processes on the shared subscription, compared across process counts.

    .venv/bin/python bench/detect.py [--devices 300] [--hours 6] [--fault-rate 0.08]
    .venv/bin/python bench/detect.py --ingest 1,2,3 [--devices 200] [--hours 0.5] [--fault-rate 0.3]

The simulator (demo/simulator.py) plays normal service with injected faults for each car and logs
what it injected; the rules judge the same stream. Without `--ingest` they judge it in this process.
With `--ingest N[,M...]`, for each count: a fresh PostgreSQL database with the boxes registered, a
private Mosquitto with the deployed config, N ingest processes (the deployed, partitioned ingest:
connectors/mqtt/partitioned.py, on Redis LIFTCASE_BENCH_REDIS) on one share group; the stream is
published once, QoS 1, as fast as the broker takes it; each process hands its findings to a Redis
list instead of rq (the only difference from `liftcase ingest`), and the findings of every count
must be the same set of idempotency keys. Findings judged on the clock after the stream ended (boxes
that all fall silent at its end) are left out of the comparison and the scores, and counted.

Last line: `min_precision=… min_recall=…` or, with --ingest,
`ingests=1,2,3 identical=yes messages=… faults=… findings=… min_precision=… min_recall=…`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from demo.rules_check import Score, run_rules, score
from demo.simulator import CityStream, city_stream
from detectors.rules.findings import Change, Finding, WarningType
from detectors.rules.thresholds import load_thresholds

ROOT = Path(__file__).resolve().parent.parent


def print_scores(scores: dict[str, Score]) -> None:
    print(f"{'warning type':<26}{'truth':>7}{'found':>7}{'precision':>11}{'recall':>8}")
    for s in scores.values():
        print(f"{s.warning_type:<26}{s.truth:>7}{s.found:>7}{s.precision:>11.4f}{s.recall:>8.4f}")


def in_process(args: argparse.Namespace) -> None:
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
    print_scores(scores)
    print(f"min_precision={min(s.precision for s in scores.values()):.4f} "
          f"min_recall={min(s.recall for s in scores.values()):.4f}")  # fmt: skip


# -- one ingest process (run by the benchmark as a child) ------------------------------------------
def child(args: argparse.Namespace) -> None:
    """The deployed ingest, handing findings to a Redis list; reports its progress to a hash."""
    import logging
    import threading

    from redis import Redis

    from connectors.mqtt.ingest import IngestConfig
    from connectors.mqtt.partitioned import PartitionedIngest
    from connectors.mqtt.pipeline import IngestPipeline
    from infra.settings import Settings
    from liftcase.bootstrap import build_system

    logging.basicConfig(level=logging.WARNING)
    redis_url = os.environ["BENCH_REDIS"]
    system = build_system(Settings(database_url=os.environ["BENCH_DB"], redis_url=redis_url))
    out = Redis.from_url(redis_url)
    found_key, progress_key = f"bench:detect:{args.group}:found", f"bench:detect:{args.group}:progress"

    def record(signals: list[dict[str, Any]]) -> None:
        out.rpush(found_key, *[json.dumps(s) for s in signals])

    pipeline = IngestPipeline(system.sessions, load_thresholds(), record, system.clock)
    user, password = os.environ["BENCH_MQTT_USER"], os.environ["BENCH_MQTT_PASSWORD"]
    config = IngestConfig(port=args.port, client_id=args.client_id, group=args.group, username=user, password=password)
    ingest = PartitionedIngest(pipeline, redis_url, config)
    signal.signal(signal.SIGTERM, lambda *_: ingest.stop())

    def report() -> None:
        while not ingest.stopping.is_set():
            out.hset(progress_key, args.client_id, json.dumps({"judged": ingest.owner.judged, "idle": ingest.idle()}))
            time.sleep(0.2)

    threading.Thread(target=report, daemon=True).start()
    ingest.run()


# -- the comparison --------------------------------------------------------------------------------
def wait_dealt(redis: Any, group: str, n: int, timeout: float = 60) -> None:
    """Until n members hold every partition as dealt (nobody is still handing one over)."""
    from connectors.mqtt.leases import deal

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        prefix = f"liftcase:ingest:{group}"
        partitions = int(redis.get(f"{prefix}:partitions") or 0)
        members = [m.decode() for m in redis.zrange(f"{prefix}:members", 0, -1)]
        if partitions and len(members) == n:
            dealt = deal(partitions, members)
            holders = {p: (redis.get(f"{prefix}:lease:{p}") or b"").decode() for p in range(partitions)}
            if all(holders[p] == m for m, ps in dealt.items() for p in ps):
                return
        time.sleep(0.2)
    raise RuntimeError(f"{n} ingest processes did not settle their partitions")


def run_count(n: int, stream: CityStream, devices_n: int, redis_url: str) -> tuple[list[dict[str, Any]], float]:
    from redis import Redis

    from bench.mqtt_setup import FreshDatabase, PrivateBroker
    from connectors.mqtt.publisher import connect_publisher, publish_all
    from demo.seed import seed_city
    from infra.settings import Settings
    from liftcase.bootstrap import build_system, create_schema

    redis = Redis.from_url(redis_url)
    broker = PrivateBroker()
    db = FreshDatabase("liftcase_bench_detect")
    group = f"detect{n}-{uuid.uuid4().hex[:6]}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        system = build_system(Settings(database_url=db.url))
        create_schema(system)
        with system.sessions() as session, session.begin():
            seed_city(session, elevators=max(300, devices_n * 2), devices=devices_n, clock_now=system.clock.now())
        system.db.dispose()
        user, password = broker.ingest_auth()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_DB": db.url, "BENCH_REDIS": redis_url,
               "BENCH_MQTT_USER": user, "BENCH_MQTT_PASSWORD": password}  # fmt: skip
        for i in range(n):
            cmd = [sys.executable, str(ROOT / "bench" / "detect.py"), "--child", "--group", group,
                   "--client-id", f"{group}-{i}", "--port", str(broker.port)]  # fmt: skip
            procs.append(subprocess.Popen(cmd, env=env, cwd=ROOT))
        wait_dealt(redis, group, n)
        publisher, secret = broker.publisher_auth()
        pub = connect_publisher("127.0.0.1", broker.port, username=publisher, password=secret)
        started = time.perf_counter()
        publish_all(pub, [(name, payload) for _, name, payload in stream.messages])
        pub.disconnect()
        pub.loop_stop()
        progress_key = f"bench:detect:{group}:progress"
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            states = [json.loads(v) for v in redis.hgetall(progress_key).values()]
            if len(states) == n and sum(s["judged"] for s in states) >= len(stream.messages) and all(
                s["idle"] for s in states
            ):
                break
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("an ingest process exited")
            time.sleep(0.2)
        else:
            raise RuntimeError(f"not all {len(stream.messages)} messages were judged: {states}")
        elapsed = time.perf_counter() - started
        found = [json.loads(raw) for raw in redis.lrange(f"bench:detect:{group}:found", 0, -1)]
        return found, elapsed
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        for key in redis.scan_iter(f"*{group}*"):
            redis.delete(key)
        broker.close()
        db.drop()


def as_finding(s: dict[str, Any]) -> Finding:
    return Finding(s["device_id"], Change(s["change"]), WarningType(s["warning_type"]), s["case_type"],
                   s["idempotency_key"], s["ts"], s["seq"])  # fmt: skip


def through_ingests(args: argparse.Namespace) -> None:
    from bench.mqtt_setup import REDIS
    from demo.simulate import registered_devices
    from infra.settings import Settings
    from liftcase.bootstrap import build_system

    counts = [int(c) for c in args.ingest.split(",")]
    book = load_thresholds()
    seconds = args.hours * 3600
    start = datetime.now(UTC) - timedelta(seconds=seconds + 120)
    stream: CityStream | None = None
    keys: dict[int, set[str]] = {}
    worst = (1.0, 1.0)
    late_counts: dict[int, int] = {}
    for n in counts:
        if stream is None:  # the boxes are those the seeded city registers: the same in every run
            from bench.mqtt_setup import FreshDatabase
            from demo.seed import seed_city
            from liftcase.bootstrap import create_schema

            db = FreshDatabase("liftcase_bench_detect")
            try:
                system = build_system(Settings(database_url=db.url))
                create_schema(system)
                with system.sessions() as session, session.begin():
                    seed_city(session, elevators=max(300, args.devices * 2), devices=args.devices,
                              clock_now=system.clock.now())  # fmt: skip
                devices = registered_devices(system.sessions, args.devices)
                system.db.dispose()
            finally:
                db.drop()
            stream = city_stream(devices, start, seconds, seed=args.seed, fault_rate=args.fault_rate)
            end = max(t for t, _, _ in stream.messages)
            reference = run_rules(stream, {d: book.for_elevator(None, f) for d, f in devices})
            print(f"{len(stream.messages)} status messages from {len(devices)} boxes over {args.hours} h; "
                  f"{len(stream.truth)} injected faults; in-process reference: {len(reference)} findings")  # fmt: skip
        found, elapsed = run_count(n, stream, args.devices, REDIS)
        findings = [as_finding(s) for s in found]
        in_trace = [f for f in findings if datetime.fromisoformat(f.ts) <= end]
        late_counts[n] = len(findings) - len(in_trace)
        keys[n] = {f.idempotency_key for f in in_trace}
        scores = score(stream.truth, in_trace)
        print(f"\n{n} ingest process(es): {len(stream.messages)} messages judged in {elapsed:.1f}s "
              f"({len(stream.messages) / elapsed:,.0f}/s); {len(keys[n])} distinct findings "
              f"({len(found)} handed on), {late_counts[n]} judged on the clock after the stream ended")  # fmt: skip
        print_scores(scores)
        worst = (min(worst[0], *(s.precision for s in scores.values())),
                 min(worst[1], *(s.recall for s in scores.values())))  # fmt: skip
    first = keys[counts[0]]
    identical = all(k == first for k in keys.values())
    for n, k in keys.items():
        if k != first:
            print(f"{n} ingests differ from {counts[0]}: missing {sorted(first - k)[:5]}, "
                  f"extra {sorted(k - first)[:5]}")  # fmt: skip
    assert stream is not None
    print(f"ingests={','.join(map(str, counts))} identical={'yes' if identical else 'no'} "
          f"messages={len(stream.messages)} faults={len(stream.truth)} findings={len(first)} "
          f"min_precision={worst[0]:.4f} min_recall={worst[1]:.4f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int)
    parser.add_argument("--hours", type=float)
    parser.add_argument("--fault-rate", type=float)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--ingest", help="through N ingest processes; a list (1,2,3) compares the counts")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    parser.add_argument("--client-id", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    through = args.ingest is not None
    args.devices = args.devices or (200 if through else 300)
    args.hours = args.hours or (0.5 if through else 6)
    args.fault_rate = args.fault_rate if args.fault_rate is not None else (0.3 if through else 0.08)
    (through_ingests if through else in_process)(args)


if __name__ == "__main__":
    main()
