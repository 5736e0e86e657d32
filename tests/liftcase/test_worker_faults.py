"""`liftcase worker` processes through a Redis outage, on a private redis-server started by the test
(never the shared one) and the real PostgreSQL: Redis stopped for 20 s while both workers (one
forking, one not) are in the middle of jobs. Both stay up, say once that Redis went and once that
it is back, and every job takes effect exactly once: each notice reaches the gateway once, each
trapped finding opens one rescue."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import insert, select

from detectors.rules.findings import Change, Finding, WarningType
from engine.models import Case, Notification
from infra.clock import SimulatedClock
from infra.jobs import QUEUES, RqJobs
from liftcase.bootstrap import JOBS
from processes.telemetry import JOB as TELEMETRY
from registry.models import Elevator, User
from tests.support.broker import free_ports
from tests.support.private_servers import PrivateRedis, SlowGateway, spawn_liftcase, stop_process
from tests.support.system import START, make_system

# Outages and message timing, judged against deadlines: run with nothing else on the machine
pytestmark = pytest.mark.alone

[REDIS_PORT] = free_ports(1)
SECRET = "fault-test-secret"
NOTICES, RESCUES = 24, 8
OUTAGE_SECONDS = 20


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(REDIS_PORT).start()
    yield server
    server.close()


def rescue_finding(elevator_id: int) -> dict[str, object]:
    key = f"fault-{elevator_id}:trapped"
    f = Finding(f"fault-{elevator_id}", Change.RAISED, WarningType.TRAPPED, "rescue", key, START.isoformat())
    return {**f.signal(), "elevator_id": elevator_id}


def wait_until(check, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds}s: {what}")
        time.sleep(0.2)


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_workers_stay_up_through_a_redis_outage_and_finish_every_job(
    db_url: str, clock: SimulatedClock, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    system = make_system(db_url, clock, elevators=60)
    gateway = SlowGateway(latency=1.0)
    with system.sessions() as session:
        users = session.execute(select(User.id, User.organisation_id).where(User.on_call.is_(True))).all()
        elevators = list(session.scalars(select(Elevator.id).order_by(Elevator.id).limit(RESCUES)))
    with system.sessions() as session, session.begin():
        notice_ids = list(session.scalars(insert(Notification).returning(Notification.id), [
            {"case_id": None, "role": "maintenance", "organisation_id": users[i % len(users)][1],
             "user_id": users[i % len(users)][0], "channel": "sms", "subject": f"notice {i}", "body": "fault test",
             "dedupe_key": f"fault:{i}:sms", "status": "queued", "attempts": 0, "created_at": clock.now()}
            for i in range(NOTICES)
        ]))  # fmt: skip
    jobs = RqJobs(private_redis.url, JOBS)
    jobs.enqueue_many("deliver_notifications", [([nid],) for nid in notice_ids])
    for elevator_id in elevators:
        jobs.enqueue(TELEMETRY, [rescue_finding(elevator_id)])

    env = {"LIFTCASE_DATABASE_URL": db_url, "LIFTCASE_REDIS_URL": private_redis.url,
           "LIFTCASE_SMS_GATEWAY_URL": gateway.url, "LIFTCASE_GATEWAY_SECRET": SECRET}  # fmt: skip
    logs = [tmp_path / "worker-nofork.log", tmp_path / "worker-fork.log"]
    workers = [spawn_liftcase(["worker"], env, logs[0]), spawn_liftcase(["worker", "--fork"], env, logs[1])]
    try:
        # Both workers busy: the rescues are taken first (cases-p1), then sends are in flight.
        wait_until(lambda: gateway.arrived >= 3, 60, "both workers sending")
        private_redis.stop()
        time.sleep(OUTAGE_SECONDS)
        assert [w.poll() for w in workers] == [None, None], "a worker exited while Redis was away"
        private_redis.start()

        def sent() -> int:
            with system.sessions() as session:
                rows = session.scalars(select(Notification.status).where(Notification.id.in_(notice_ids)))
                return sum(status == "sent" for status in rows)

        wait_until(lambda: sent() == NOTICES, 120, "every notice sent")
        connection = Redis.from_url(private_redis.url)
        wait_until(lambda: all(Queue(q, connection=connection).count == 0 for q in QUEUES), 60, "queues drained")
        wait_until(
            lambda: all(Queue(q, connection=connection).started_job_registry.count == 0 for q in QUEUES), 60,
            "no job left started",
        )  # fmt: skip
        assert [w.poll() for w in workers] == [None, None]
        assert all(Queue(q, connection=connection).failed_job_registry.count == 0 for q in QUEUES)
        with system.sessions() as session:
            cases = session.execute(select(Case.elevator_id, Case.case_type)).all()
        assert sorted(cases) == sorted((e, "rescue") for e in elevators)  # each finding: one rescue
        ours = {f"fault:{i}:sms": n for i in range(NOTICES) if (n := gateway.received[f"fault:{i}:sms"])}
        assert list(ours.values()) == [1] * NOTICES  # every notice reached the gateway exactly once
        assert all(n == 1 for n in gateway.received.values())  # the rescues' own notices too
    finally:
        for worker in workers:
            stop_process(worker)
        gateway.close()
        system.db.dispose()
    for log in logs:
        text = log.read_text()
        assert text.count("Redis unreachable") == text.count("retrying with backoff") == 1, text  # once, not per retry
        assert text.count("Redis reachable again") == 1, text
        assert "unhandled exception" not in text and "Traceback" not in text, text
