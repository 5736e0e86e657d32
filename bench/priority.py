"""Urgency under load: trapped alarms over MQTT while thousands of slow notification jobs wait.

Deployed shape, twice in one run on the same machine: a private Mosquitto with the ingest settings,
one ingest process, W rq worker processes (`--no-fork`), PostgreSQL, Redis. Each round queues
`--backlog` notification jobs (one SMS each) whose gateway is a real local HTTP endpoint answering
after `--latency-ms`, then publishes `--alarms` trapped events (GB/T 24476 code 11, one box each)
spread over `--alarm-seconds`, and times each from its publish to its rescue case persisted
(cases.opened_at, committed with its tasks, timeline and queued notices).

  single queue  every job on one FIFO queue (how liftcase ran before queues by urgency): the ingest
                and workers are this script's own launchers, built like `liftcase ingest|worker`
                with one queue
  priority      `liftcase ingest` and `liftcase worker` as shipped: cases-p1 > cases > notify > reports

Usage: python bench/priority.py [--backlog 5000] [--alarms 200] [--workers 2] [--latency-ms 50]
       [--alarm-seconds 10] [--skip-single]
Env: LIFTCASE_BENCH_PG (a PostgreSQL server), LIFTCASE_BENCH_REDIS (a Redis database it may flush).
Last line: backlog=… alarms=… p50_ms=… p95_ms=… max_ms=… lost=…   (priority queues; target
p95 ≤ 2000 ms, lost=0); the line before it: the same for the single queue, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from rq import Queue, Worker  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bench.mqtt_setup import REDIS, FreshDatabase, PrivateBroker, prime_session  # noqa: E402
from connectors.mqtt.publisher import connect_publisher  # noqa: E402
from connectors.mqtt.topics import shared_filters  # noqa: E402
from engine.models import Case, Notification  # noqa: E402
from infra.jobs import QUEUES, RqJobs  # noqa: E402
from infra.settings import Settings  # noqa: E402
from liftcase.bootstrap import JOBS, build_system, create_schema  # noqa: E402
from processes.system import System  # noqa: E402
from tests.support.private_servers import SlowGateway, spawn_liftcase, stop_process  # noqa: E402

SINGLE = "fifo"
SECRET = "bench-priority-secret"


@dataclass
class Round:
    name: str
    backlog: int  # notification jobs waiting when the first alarm was published
    left: int  # still waiting when the last rescue was persisted
    latencies_ms: list[float]
    lost: int
    sms_ms: list[float]  # publish -> the rescue's first SMS accepted by the gateway (if it came in time)

    def pct(self, q: float, xs: list[float] | None = None) -> float:
        xs = sorted(self.latencies_ms if xs is None else xs)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")

    def sms_line(self) -> str:
        return (f"first SMS of each rescue at the gateway: {len(self.sms_ms)} of {len(self.latencies_ms) + self.lost}, "
                f"p50 {self.pct(0.5, self.sms_ms):.0f} ms, p95 {self.pct(0.95, self.sms_ms):.0f} ms")  # fmt: skip

    def line(self) -> str:
        top = max(self.latencies_ms) if self.latencies_ms else float("nan")
        return (f"backlog={self.backlog} alarms={len(self.latencies_ms) + self.lost} p50_ms={self.pct(0.5):.0f} "
                f"p95_ms={self.pct(0.95):.0f} max_ms={top:.0f} lost={self.lost}")  # fmt: skip


@dataclass
class Bench:
    args: argparse.Namespace
    system: System
    redis: Redis
    broker: PrivateBroker
    boxes: list[tuple[str, int]]  # (device id, elevator id)
    users: list[tuple[int, int]]  # on-call (user id, organisation id): the notices' recipients


def serve(role: str, client_id: str, port: int, group: str) -> None:
    """This script as a single-queue ingest or worker process (the baseline's launchers)."""
    from connectors.mqtt.ingest import IngestConfig
    from connectors.mqtt.run import run_ingest
    from liftcase.worker import work

    settings = Settings.from_env()
    system = build_system(settings, jobs=RqJobs(settings.redis_url or "", JOBS, single_queue=SINGLE))
    if role == "worker":
        work(system, queues=[SINGLE], fork=False)
    else:
        run_ingest(system, IngestConfig(port=port, client_id=client_id, group=group, username=settings.mqtt_username,
                                        password=settings.mqtt_password))  # fmt: skip


def spawn_script(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *args], cwd=ROOT, env={**os.environ, **env,
        "PYTHONPATH": str(ROOT)}, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--alarms", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="the notification gateway's answer delay")
    parser.add_argument("--alarm-seconds", type=float, default=10.0, help="alarms are spread over this long")
    parser.add_argument("--skip-single", action="store_true", help="only the priority queues (no baseline)")
    parser.add_argument("--serve", choices=["ingest", "worker"], help=argparse.SUPPRESS)
    parser.add_argument("--client-id", default="bench-priority-ingest", help=argparse.SUPPRESS)
    parser.add_argument("--group", default="liftcase", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=1883, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.client_id, args.port, args.group)
        return

    from demo.seed import seed_city
    from registry.models import Device, User

    redis = Redis.from_url(REDIS)
    redis.flushdb()
    broker = PrivateBroker()
    db = FreshDatabase("liftcase_bench_priority")
    gateway = SlowGateway(args.latency_ms / 1000)
    logs = Path(tempfile.mkdtemp(prefix="liftcase-bench-priority-"))
    print(f"process logs in {logs}")
    rounds: list[Round] = []
    try:
        system = build_system(Settings(database_url=db.url, redis_url=REDIS))
        create_schema(system)
        with system.sessions() as session, session.begin():
            seed_city(session, elevators=max(600, 3 * args.alarms), devices=2 * (args.alarms + 1),
                      clock_now=system.clock.now())  # fmt: skip
        system.deploy_processes()
        with system.sessions() as session:
            boxes = [tuple(r) for r in session.execute(select(Device.id, Device.elevator_id).order_by(Device.id))]
            users = [tuple(r) for r in session.execute(select(User.id, User.organisation_id).where(User.on_call))]
        bench = Bench(args, system, redis, broker, boxes, users)  # type: ignore[arg-type]
        user, password = broker.ingest_auth()
        env = {"LIFTCASE_DATABASE_URL": db.url, "LIFTCASE_REDIS_URL": REDIS, "LIFTCASE_SMS_GATEWAY_URL": gateway.url,
               "LIFTCASE_GATEWAY_SECRET": SECRET, "LIFTCASE_MQTT_USERNAME": user,
               "LIFTCASE_MQTT_PASSWORD": password}  # fmt: skip
        plans = [("single queue", True)] * (not args.skip_single) + [("priority", False)]
        for n, (name, single) in enumerate(plans):
            redis.flushdb()
            client_id, group = f"bench-priority-{n}", f"round{n}"
            prime_session(broker.port, client_id, shared_filters(group), (user, password))
            log = logs / f"round{n}.log"
            ingest = ["--client-id", client_id, "--port", str(broker.port), "--group", group]
            if single:
                procs = [spawn_script(["--serve", "ingest", *ingest], env, log)]
                procs += [spawn_script(["--serve", "worker"], env, log) for _ in range(args.workers)]
            else:
                procs = [spawn_liftcase(["ingest", *ingest], env, log)]
                procs += [spawn_liftcase(["worker", "--no-fork"], env, log) for _ in range(args.workers)]
            try:
                rounds.append(one_round(bench, name, single, n))
            finally:
                for proc in procs:
                    stop_process(proc)
            print(f"{name}: {rounds[-1].line()} (notification jobs still queued at the end: {rounds[-1].left}); "
                  f"{rounds[-1].sms_line()}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores",
                  flush=True)  # fmt: skip
        system.db.dispose()
    finally:
        redis.flushdb()
        gateway.close()
        broker.close()
        db.drop()
    if len(rounds) == 2:
        base, prio = rounds
        print(f"single queue: {base.line()}; priority queues: p95 {base.pct(0.95) / prio.pct(0.95):.0f}x shorter, "
              f"p50 {base.pct(0.5) / prio.pct(0.5):.0f}x shorter")  # fmt: skip
    print(rounds[-1].line())


def one_round(bench: Bench, name: str, single: bool, n: int) -> Round:
    """Backlog queued, then the alarms published; each timed to its persisted rescue."""
    args, system, redis = bench.args, bench.system, bench.redis
    tag = uuid.uuid4().hex[:6]
    mine = bench.boxes[n * (args.alarms + 1) : (n + 1) * (args.alarms + 1)]
    publisher, secret = bench.broker.publisher_auth()
    pub = connect_publisher("127.0.0.1", bench.broker.port, username=publisher, password=secret)

    def alarm(device_id: str, event_id: str) -> None:
        body = {"device_id": device_id, "ts": datetime.now(UTC).isoformat(), "event_id": event_id, "code": 11}
        pub.publish(f"lift/{device_id}/event", json.dumps(body).encode(), qos=1)

    def rescues(elevators: list[int]) -> dict[int, datetime]:
        with system.sessions() as session:
            return dict(session.execute(select(Case.elevator_id, Case.opened_at).where(
                Case.elevator_id.in_(elevators), Case.case_type == "rescue")).all())  # fmt: skip

    # Warm-up: one alarm through ingest and a worker (processes up, BPMN parsed) before the clock runs.
    (warm_device, warm_elevator), mine = mine[0], mine[1:]
    alarm(warm_device, f"{tag}-warm-up")
    deadline = time.monotonic() + 120
    while not rescues([warm_elevator]) or Worker.count(connection=redis) < args.workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}: the warm-up alarm did not become a rescue in 120 s")
        time.sleep(0.2)
    now = system.clock.now()
    users = bench.users
    with system.sessions() as session, session.begin():
        ids = list(session.scalars(insert(Notification).returning(Notification.id), [
            {"case_id": None, "role": "maintenance", "organisation_id": users[i % len(users)][1],
             "user_id": users[i % len(users)][0], "channel": "sms", "subject": f"routine notice {i}",
             "body": "maintenance reminder", "dedupe_key": f"bench:{tag}:{i}:sms", "status": "queued",
             "attempts": 0, "created_at": now}
            for i in range(args.backlog)
        ]))  # fmt: skip
    RqJobs(REDIS, JOBS, single_queue=SINGLE if single else None).enqueue_many(
        "deliver_notifications", [([i],) for i in ids]
    )
    queues = [Queue(q, connection=redis) for q in ([SINGLE] if single else QUEUES)]

    def waiting() -> int:
        return sum(q.count for q in queues)

    backlog = waiting()
    published: dict[int, float] = {}
    gap = args.alarm_seconds / max(1, len(mine))
    started = time.monotonic()
    for i, (device_id, elevator_id) in enumerate(mine):
        while time.monotonic() < started + i * gap:
            time.sleep(0.001)
        published[elevator_id] = time.time()
        alarm(device_id, f"{tag}-{i}")
    # The single queue drains the whole backlog first; on a loaded machine a job costs far more
    # than the gateway's wait, so the limit is generous (lost = not persisted within it).
    timeout = 120 + args.backlog * (args.latency_ms / 1000 + 0.5) / args.workers
    persisted: dict[int, datetime] = {}
    while time.monotonic() - started < timeout and len(persisted) < len(mine):
        persisted = rescues(list(published))
        time.sleep(0.5)
    left = waiting()
    pub.disconnect()
    pub.loop_stop()
    latencies = [(persisted[e].timestamp() - t) * 1000 for e, t in published.items() if e in persisted]
    # The rescues' SMS: with the queue by urgency they pass the backlog too (notify-p1); give them
    # up to two minutes (2 workers send 2 jobs per rescue). In the single queue they come after the backlog.
    sms: dict[int, datetime] = {}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(sms) < len(persisted):
        with system.sessions() as session:
            sms = dict(session.execute(
                select(Case.elevator_id, func.min(Notification.sent_at))
                .join(Notification, Notification.case_id == Case.id)
                .where(Case.elevator_id.in_(published), Notification.channel == "sms", Notification.status == "sent")
                .group_by(Case.elevator_id)).all())  # fmt: skip
        time.sleep(0.5)
    sms_ms = [(sms[e].timestamp() - published[e]) * 1000 for e in sms]
    return Round(name, backlog, left, latencies, len(published) - len(persisted), sms_ms)


if __name__ == "__main__":
    main()
