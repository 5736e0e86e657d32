"""Queues by urgency on the real Redis: each job goes to its queue (a finding that opens a rescue to
cases-p1), a burst is split so warnings never ride on the urgent queue, and a worker takes a rescue
before a backlog of notices queued ahead of it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import JobStatus
from sqlalchemy import select

from connectors.notify.jobs import DELIVER, SEND
from detectors.rules.findings import Change, Finding, WarningType
from engine.models import Case, Notification
from infra.clock import SimulatedClock
from infra.jobs import CASES, CASES_P1, NOTIFY, NOTIFY_P1, QUEUES, REPORTS, Job, JobRegistry, RqJobs, serve_jobs
from liftcase.bootstrap import JOBS, use_jobs
from liftcase.cli import main
from liftcase.worker import Supervisor
from processes.telemetry import JOB as TELEMETRY
from processes.telemetry import apply_signals, hand_over
from registry.models import Elevator
from reports.flows import MAKE_REPORTS
from tests.support.services import REDIS_URL, need_service
from tests.support.system import START, make_system


@pytest.fixture
def redis() -> Iterator[Redis]:
    need_service(6379, "Redis")
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()


def counts(connection: Redis) -> dict[str, int]:
    return {name: Queue(name, connection=connection).count for name in QUEUES}


def finding(elevator_id: int, n: int, *, rescue: bool, change: Change = Change.RAISED) -> dict[str, object]:
    wtype = WarningType.TRAPPED if rescue else WarningType.DOOR_HELD_OPEN
    case_type = "rescue" if rescue else "warning"
    f = Finding(f"dev-{elevator_id}", change, wtype, case_type, f"dev-{elevator_id}:{wtype}:{n}", START.isoformat())
    return {**f.signal(), "elevator_id": elevator_id}


def test_each_job_goes_to_its_queue(redis: Redis) -> None:
    jobs = RqJobs(REDIS_URL, JOBS)
    jobs.enqueue(TELEMETRY, [finding(1, 1, rescue=False)])
    jobs.enqueue(TELEMETRY, [finding(1, 2, rescue=False), finding(2, 1, rescue=True)])
    jobs.enqueue(TELEMETRY, [finding(2, 2, rescue=True, change=Change.CLEARED)])  # a clearance is not urgent
    jobs.enqueue(SEND, [1, 2])
    jobs.enqueue_many(DELIVER, [([3],), ([4],)])
    jobs.enqueue(MAKE_REPORTS, "week", "2026-11-23")
    jobs.enqueue(SEND, [5], True)  # a P1 rescue's notices
    assert counts(redis) == {CASES_P1: 1, NOTIFY_P1: 1, CASES: 2, NOTIFY: 3, REPORTS: 1}


def test_enqueue_many_splits_a_burst_by_urgency(redis: Redis) -> None:
    RqJobs(REDIS_URL, JOBS).enqueue_many(
        TELEMETRY, [([finding(1, 1, rescue=True)],), ([finding(2, 1, rescue=False)],), ([finding(3, 1, rescue=True)],)]
    )
    assert counts(redis) == {CASES_P1: 2, NOTIFY_P1: 0, CASES: 1, NOTIFY: 0, REPORTS: 0}


def test_hand_over_puts_rescues_in_chunks_of_their_own(redis: Redis) -> None:
    signals = [finding(e, 1, rescue=e % 50 == 0) for e in range(1, 451)]  # 9 rescues among 450
    hand_over(RqJobs(REDIS_URL, JOBS), signals, chunk=200)
    p1, cases = Queue(CASES_P1, connection=redis), Queue(CASES, connection=redis)
    assert [len(j.args[1]) for j in p1.get_jobs()] == [9]
    assert [len(j.args[1]) for j in cases.get_jobs()] == [200, 200, 41]
    assert all(s["case_type"] == "rescue" for s in p1.get_jobs()[0].args[1])


def test_single_queue_keeps_every_job_in_one_fifo(redis: Redis) -> None:
    jobs = RqJobs(REDIS_URL, JOBS, single_queue="fifo")
    jobs.enqueue(DELIVER, [1])
    jobs.enqueue(TELEMETRY, [finding(1, 1, rescue=True)])
    assert Queue("fifo", connection=redis).count == 2 and sum(counts(redis).values()) == 0


def test_a_registry_refuses_a_queue_that_does_not_exist() -> None:
    with pytest.raises(ValueError, match="unknown queues"):
        JobRegistry({"x": Job(lambda _c: None, "urgent-ish")})


def test_a_worker_takes_the_rescue_before_the_notices_queued_ahead_of_it(
    redis: Redis, sqlite_url: str, clock: SimulatedClock
) -> None:
    system = make_system(sqlite_url, clock, elevators=60)
    use_jobs(system, jobs := RqJobs(REDIS_URL, JOBS))
    with system.sessions() as session:
        elevator_id = session.scalar(select(Elevator.id).order_by(Elevator.id))
    jobs.enqueue_many(DELIVER, [([n],) for n in range(1_000_000, 1_000_300)])  # no such notices: quick no-ops
    jobs.enqueue(TELEMETRY, [finding(elevator_id, 1, rescue=True)])
    serve_jobs(JOBS, system)
    Supervisor(redis, list(QUEUES), fork=False).make_worker(1).work(burst=True, max_jobs=1)
    with system.sessions() as session:
        cases = session.execute(select(Case.case_type, Case.elevator_id)).all()
    assert cases == [("rescue", elevator_id)]
    assert [job.args[0] for job in Queue(NOTIFY, connection=redis).get_jobs()] == [DELIVER] * 300  # none taken
    assert [job.args[0] for job in Queue(NOTIFY_P1, connection=redis).get_jobs()] == [SEND]  # the rescue's own
    system.db.dispose()


def test_a_job_past_its_timeout_is_stopped_in_a_worker_that_does_not_fork(redis: Redis) -> None:
    """No horse to kill: rq's death penalty (SIGALRM) stops the job in the worker itself, which fails
    it and goes on with the next. Without it the sleep would run its 60 s and finish."""
    queue = Queue(NOTIFY, connection=redis)
    slow = queue.enqueue(time.sleep, 60, job_timeout=1)
    after = queue.enqueue(abs, -2)
    worker = Supervisor(redis, [NOTIFY], fork=False).make_worker(1)
    assert isinstance(worker, SimpleWorker)
    worker.work(burst=True)
    assert slow.get_status(refresh=True) == JobStatus.FAILED
    assert "JobTimeoutException" in (slow.latest_result().exc_string or "")
    assert after.get_status(refresh=True) == JobStatus.FINISHED and after.return_value() == 2


def test_a_worker_does_not_fork_unless_asked() -> None:
    """Forking per job is for a worker that makes reports (WeasyPrint's memory goes with the child)."""
    from liftcase.cli.run import worker

    assert {p.name: p.default for p in worker.params}["fork"] is False


def test_worker_cli_refuses_unknown_queues(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFTCASE_REDIS_URL", REDIS_URL)
    result = CliRunner().invoke(main, ["worker", "--queues", "cases-p1,urgent"])
    assert result.exit_code == 2 and "unknown queue(s) urgent" in result.output


def test_a_rescues_notices_go_out_before_every_other_notice(
    redis: Redis, sqlite_url: str, clock: SimulatedClock
) -> None:
    """Inbox and channel jobs of a P1 rescue run from notify-p1; a warning's from notify."""
    system = make_system(sqlite_url, clock, elevators=60, sms_gateway_url="http://127.0.0.1:9/sms")
    use_jobs(system, RqJobs(REDIS_URL, JOBS))
    with system.sessions() as session:
        first, second = session.scalars(select(Elevator.id).order_by(Elevator.id).limit(2)).all()
    apply_signals(system, [finding(first, 1, rescue=True), finding(second, 1, rescue=False)])
    p1, notify = Queue(NOTIFY_P1, connection=redis), Queue(NOTIFY, connection=redis)
    assert [j.args[0] for j in p1.get_jobs()] == [SEND] and [j.args[0] for j in notify.get_jobs()] == [SEND]
    serve_jobs(JOBS, system)
    Supervisor(redis, [NOTIFY_P1], fork=False).make_worker(1).work(burst=True, max_jobs=1)
    assert [j.args[0] for j in p1.get_jobs()] == [DELIVER]  # the rescue's SMS: still urgent
    with system.sessions() as session:
        rescue_ids = set(session.scalars(select(Notification.id).join(Case).where(Case.case_type == "rescue")))
    assert set(p1.get_jobs()[0].args[1]) <= rescue_ids
    system.db.dispose()
