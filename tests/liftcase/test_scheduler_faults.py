"""`liftcase scheduler` under faults, as real processes on the real clock: killed with SIGKILL in
the middle of a batch, then restarted, every timer fires exactly once; its PostgreSQL stopped for
20 s, it recovers by itself within 2 s of the database's return, fires what came due meanwhile
and logs the outage once (its start and its end), not a traceback per tick."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.timeline_store import verify_cases
from engine.timer_batch import CLAIM_CLASS
from infra.clock import SimulatedClock
from tests.conftest import _fresh_pg
from tests.support.broker import free_ports
from tests.support.private_pg import PrivatePostgres, need_private_cluster
from tests.support.system import make_system
from tests.support.timer_cases import ELEMENT, firings_at, open_rescues

# Outages and message timing, judged against deadlines: run with nothing else on the machine
pytestmark = pytest.mark.alone

ROOT = Path(__file__).resolve().parents[2]
[PRIVATE_PG_PORT] = free_ports(1)  # a private cluster's port, free on this machine


def _scheduler(url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LIFTCASE_DATABASE_URL": url, "LIFTCASE_TIMER_POLL_SECONDS": "0.1"}
    env.pop("LIFTCASE_REDIS_URL", None)  # notices are delivered in the scheduler's process
    return subprocess.Popen(
        [sys.executable, "-m", "liftcase.cli", "scheduler"], env=env, cwd=ROOT, stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def _fired(url: str, ids: list[int]) -> int:
    counts = firings_at(url)
    return sum(counts[(cid, ELEMENT)] for cid in ids)


def _claims_held(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :cls "
                        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    ),
                    {"cls": CLAIM_CLASS},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_kill_9_mid_batch_then_restart_fires_every_timer_exactly_once(pg_server: str, tmp_path: Path) -> None:
    url = _fresh_pg(pg_server)
    clock = SimulatedClock(datetime.now(UTC))
    system = make_system(url, clock, elevators=300)
    ids = open_rescues(system, clock, 250, datetime.now(UTC) - timedelta(seconds=1))  # overdue
    log = tmp_path / "scheduler.log"
    first = _scheduler(url, log)
    try:
        _wait_for(lambda: _claims_held(url) > 0, 60, "the scheduler to claim a batch")
        os.kill(first.pid, signal.SIGKILL)  # mid-batch: claims held, the batch not committed
        first.wait(10)
    finally:
        _stop(first)
    assert 0 <= _fired(url, ids) < len(ids)
    second = _scheduler(url, log)
    try:
        _wait_for(lambda: _fired(url, ids) >= len(ids), 180, "every timer to fire after the restart")
        time.sleep(1.0)  # a duplicate would show by now
    finally:
        _stop(second)
    counts = firings_at(url)
    assert [cid for cid in ids if counts[(cid, ELEMENT)] != 1] == []  # each timer exactly once
    assert verify_cases(system.sessions)[1] == []  # the timelines' hash chains hold
    system.db.dispose()


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    need_private_cluster()
    cluster = PrivatePostgres(PRIVATE_PG_PORT)
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.drop()


def test_postgres_stopped_20_s_scheduler_recovers_within_2_s(private_pg: PrivatePostgres, tmp_path: Path) -> None:
    url = private_pg.database("liftcase_outage")
    clock = SimulatedClock(datetime.now(UTC))
    system = make_system(url, clock, elevators=40)
    start = datetime.now(UTC)
    before = open_rescues(system, clock, 10, start + timedelta(seconds=15))
    during = open_rescues(system, clock, 10, start + timedelta(seconds=30), skip=10)  # due in the outage
    system.db.dispose()
    log = tmp_path / "scheduler.log"
    proc = _scheduler(url, log)
    try:
        _wait_for(lambda: _fired(url, before) == len(before), 60, "the timers due before the outage")
        private_pg.stop()
        stopped = time.monotonic()
        assert datetime.now(UTC) < start + timedelta(seconds=30), "too slow to stop before the next timers"
        time.sleep(20)
        private_pg.start()
        back = time.monotonic()
        _wait_for(lambda: _fired(url, during) > 0, 30, "the timers that came due in the outage")
        recovered = time.monotonic() - back
        _wait_for(lambda: _fired(url, during) == len(during), 30, "every timer due in the outage")
        time.sleep(1.0)
        assert proc.poll() is None, "the scheduler exited"
    finally:
        _stop(proc)
    print(f"first firing {recovered:.2f} s after PostgreSQL came back")
    assert recovered <= 2.0, f"fired {recovered:.1f} s after PostgreSQL came back ({back - stopped:.0f} s outage)"
    counts = firings_at(url)
    assert all(counts[(cid, ELEMENT)] == 1 for cid in before + during)
    lines = log.read_text(errors="replace").splitlines()
    assert len([line for line in lines if "database unreachable; the timer loop waits" in line]) == 1, lines
    assert len([line for line in lines if "the timer loop succeeds again" in line]) == 1, lines
    assert not [line for line in lines if "Traceback" in line or " ERROR " in line], lines
