"""A city-wide blackout: 14,188 power-loss status messages in one burst, some boxes with someone in
the car. Deployed shape: a private Mosquitto with the ingest settings, `liftcase ingest` processes
on the shared subscription, rq workers (`liftcase worker --no-fork`) on Redis, PostgreSQL.

The city is seeded with 14,188 elevators (demo.seed.seed_city); 13,980 of them can carry a car
box (escalators cannot), so every box reports its power cut and the first 208 repeat it (a heartbeat
5 s later): 14,188 messages. Expected: exactly one case per elevator, a rescue where someone is in
the car, a warning elsewhere.

Time runs from the first message published to the last expected case persisted (with its tasks,
timeline and queued notifications: one transaction per intake batch).

Usage: python bench/storm.py [--messages 14188] [--ingest 1] [--workers 3] [--passengers 0.1]
Last line: sent=… cases=… lost=… duplicates=… seconds=…   (target: < 60 s, lost=0, duplicates=0)
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.mqtt_setup import REDIS, FreshDatabase, PrivateBroker, prime_session  # noqa: E402
from connectors.mqtt.topics import shared_filters  # noqa: E402


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "liftcase.cli", *args], env=env, cwd=ROOT, stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc), to tell our cost from the shared machine's load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=14188)
    parser.add_argument("--elevators", type=int, default=14188)
    parser.add_argument("--ingest", type=int, default=1, help="ingest processes on the shared subscription")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--passengers", type=float, default=0.1, help="share of cars with someone inside")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    from redis import Redis
    from rq import Queue

    from connectors.mqtt.publisher import connect_publisher, publish_all
    from demo.seed import seed_city
    from demo.simulator import blackout
    from engine.models import Case
    from infra.jobs import QUEUES
    from infra.settings import Settings
    from liftcase.bootstrap import build_system, create_schema
    from registry.models import Device

    for name in QUEUES:
        Queue(name, connection=Redis.from_url(REDIS)).empty()
    broker = PrivateBroker()
    db = FreshDatabase("liftcase_bench_storm")
    procs: list[subprocess.Popen[bytes]] = []
    log = Path(broker.dir) / "storm.log"
    try:
        system = build_system(Settings(database_url=db.url, redis_url=REDIS))
        create_schema(system)
        now = system.clock.now()
        try:  # a box on every car that can carry one (escalators cannot)
            with system.sessions() as session, session.begin():
                counts = seed_city(session, elevators=args.elevators, devices=args.elevators, clock_now=now)
        except ValueError as err:  # "only N elevators can carry a device, M asked"
            boxes = int(str(err).split()[1])
            with system.sessions() as session, session.begin():
                counts = seed_city(session, elevators=args.elevators, devices=boxes, clock_now=now)
        system.deploy_processes()
        with system.sessions() as session:
            device_elevator = dict(session.execute(select(Device.id, Device.elevator_id).order_by(Device.id)).all())
        devices = list(device_elevator)
        rng = random.Random(14188)
        with_passenger = {d for d in devices if rng.random() < args.passengers}
        print(f"seeded {counts['elevators']} elevators, {counts['devices']} boxes; "
              f"{len(with_passenger)} cars with someone inside")  # fmt: skip

        user, password = broker.ingest_auth()
        env = {**os.environ, "LIFTCASE_DATABASE_URL": db.url, "LIFTCASE_REDIS_URL": REDIS, "PYTHONPATH": str(ROOT),
               "LIFTCASE_MQTT_USERNAME": user, "LIFTCASE_MQTT_PASSWORD": password}  # fmt: skip
        for i in range(args.ingest):
            client_id = f"storm-ingest-{i + 1}"
            prime_session(broker.port, client_id, shared_filters(), (user, password))
            procs.append(spawn(["ingest", "--port", str(broker.port), "--client-id", client_id], env, log))
        for _ in range(args.workers):
            procs.append(spawn(["worker", "--no-fork"], env, log))
        time.sleep(4)  # processes up (imports, device registry loaded)

        messages = list(blackout(devices, datetime.now(UTC), with_passenger, args.messages))
        publisher, secret = broker.publisher_auth()
        pub = connect_publisher("127.0.0.1", broker.port, username=publisher, password=secret)
        started = time.perf_counter()
        sent = publish_all(pub, messages)
        published = time.perf_counter() - started
        expected = len({topic.split("/")[1] for topic, _ in messages})

        def persisted() -> int:
            with system.sessions() as session:
                return int(session.scalar(select(func.count(func.distinct(Case.elevator_id)))) or 0)

        done = 0
        while time.perf_counter() - started < args.timeout:
            done = persisted()
            if done >= expected:
                break
            time.sleep(0.25)
        seconds = time.perf_counter() - started
        ingest_cpu = sum(cpu_seconds(p.pid) for p in procs[: args.ingest])
        worker_cpu = sum(cpu_seconds(p.pid) for p in procs[args.ingest :])
        time.sleep(2)  # anything late (a duplicate) would show now
        with system.sessions() as session:
            rows = session.execute(select(Case.elevator_id, Case.case_type)).all()
        by_elevator: dict[int, list[str]] = {}
        for elevator_id, case_type in rows:
            by_elevator.setdefault(elevator_id, []).append(case_type)
        reported = {device_elevator[topic.split("/")[1]] for topic, _ in messages}
        lost = len(reported - set(by_elevator))
        duplicates = sum(len(v) - 1 for v in by_elevator.values())
        rescue_expected = {device_elevator[d] for d in with_passenger if device_elevator[d] in reported}
        wrong = sum(
            1 for e, types in by_elevator.items() if ("rescue" if e in rescue_expected else "warning") not in types
        )
        rescues = sum(1 for types in by_elevator.values() if "rescue" in types)
        print(f"published {sent} messages in {published:.1f}s; {expected} elevators reported; "
              f"{len(rows)} cases ({rescues} rescues, {len(rows) - rescues} warnings); wrong type {wrong}; "
              f"cases persisted at {done} when the clock stopped")  # fmt: skip
        print(f"CPU: ingest {ingest_cpu:.1f}s, workers {worker_cpu:.1f}s in all "
              f"({worker_cpu / max(len(rows), 1) * 1000:.1f} ms per case, PostgreSQL's own not included); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
        system.db.dispose()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for name in QUEUES:
            Queue(name, connection=Redis.from_url(REDIS)).empty()
        broker.close()
        db.drop()
    print(f"sent={sent} cases={len(rows)} lost={lost} duplicates={duplicates} seconds={seconds:.1f}")


if __name__ == "__main__":
    main()
