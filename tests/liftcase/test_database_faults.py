"""PostgreSQL away for 20 s, on a private cluster started by the test (never the shared server), with
the API (gunicorn, as deployed) and a `liftcase worker` running on it. During the outage the API
answers 503 with a clear message and the worker holds its jobs; each process logs the outage once
and its end once, with no traceback; within 2 s of PostgreSQL's return the API answers again and
the worker has opened the rescues queued meanwhile, each once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis
from sqlalchemy import create_engine, select

from detectors.rules.findings import Change, Finding, WarningType
from engine.models import Case
from infra.clock import SimulatedClock
from infra.jobs import CASES_P1, RqJobs
from liftcase.bootstrap import JOBS
from processes.telemetry import JOB as TELEMETRY
from registry.models import Elevator
from tests.support.broker import free_ports
from tests.support.private_pg import PrivatePostgres, need_private_cluster
from tests.support.private_servers import PrivateRedis, spawn_liftcase, spawn_module, stop_process
from tests.support.system import START, make_system

# Outages and message timing, judged against deadlines: run with nothing else on the machine
pytestmark = pytest.mark.alone

PG_PORT, API_PORT, REDIS_PORT = free_ports(3)
OUTAGE_SECONDS = 20
RECOVERY_SECONDS = 2.0
RESCUES = 5


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    need_private_cluster()
    cluster = PrivatePostgres(PG_PORT)
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.drop()


def rescue(elevator_id: int) -> dict[str, object]:
    key = f"pg-fault-{elevator_id}:trapped"
    f = Finding(f"pg-fault-{elevator_id}", Change.RAISED, WarningType.TRAPPED, "rescue", key, START.isoformat())
    return {**f.signal(), "elevator_id": elevator_id}


def get(path: str) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{API_PORT}{path}", timeout=5)
    except httpx.HTTPError:
        return None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis(REDIS_PORT).start()
    yield server
    server.close()


def test_api_and_worker_ride_out_a_database_outage(
    private_pg: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    redis_url = private_redis.url
    url = private_pg.database("liftcase")
    system = make_system(url, SimulatedClock(START), elevators=40)
    with system.sessions() as session:
        elevators = list(session.scalars(select(Elevator.id).order_by(Elevator.id).limit(RESCUES)))
    system.db.dispose()
    env = {"LIFTCASE_DATABASE_URL": url, "LIFTCASE_REDIS_URL": redis_url}
    api_log, worker_log = tmp_path / "api.log", tmp_path / "worker.log"
    api = spawn_module("gunicorn", ["-w", "1", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{API_PORT}",
                                    "liftcase.wsgi:app"], env, api_log)  # fmt: skip
    worker = spawn_liftcase(["worker", "--no-fork"], env, worker_log)
    try:
        deadline = time.monotonic() + 60
        while (r := get("/healthz")) is None or r.status_code != 200:
            assert time.monotonic() < deadline, "the API did not come up"
            time.sleep(0.2)

        private_pg.stop()
        RqJobs(redis_url, JOBS).enqueue_many(TELEMETRY, [([rescue(e)],) for e in elevators])
        answers = []
        for _ in range(10):
            answers.append(get("/healthz"))
            time.sleep(OUTAGE_SECONDS / 10)
        assert all(a is not None and a.status_code == 503 for a in answers)
        assert answers[0] is not None and "database is unreachable" in answers[0].json()["message"]
        assert answers[0].headers.get("Retry-After") == "2"
        assert worker.poll() is None and api.poll() is None

        private_pg.start()
        back = time.monotonic()
        while (r := get("/healthz")) is None or r.status_code != 200:
            time.sleep(0.05)
        api_recovered = time.monotonic() - back
        check = create_engine(url)
        while True:
            with check.connect() as conn:
                opened = conn.execute(select(Case.elevator_id).where(Case.case_type == "rescue")).scalars().all()
            if len(opened) >= RESCUES or time.monotonic() - back > 30:
                break
            time.sleep(0.05)
        worker_recovered = time.monotonic() - back
        check.dispose()
        assert sorted(opened) == sorted(elevators)  # each queued finding: one rescue, none lost or doubled
        assert api_recovered <= RECOVERY_SECONDS, f"API answered again {api_recovered:.1f}s after PostgreSQL"
        assert worker_recovered <= RECOVERY_SECONDS, f"worker resumed {worker_recovered:.1f}s after PostgreSQL"
        assert Redis.from_url(redis_url).llen(f"rq:queue:{CASES_P1}") == 0
    finally:
        stop_process(worker)
        stop_process(api)
    for log in (api_log, worker_log):
        text_ = log.read_text()
        assert text_.count("PostgreSQL unreachable") == 1, text_
        assert text_.count("PostgreSQL reachable again") == 1, text_
        assert "Traceback" not in text_, text_
