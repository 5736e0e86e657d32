"""Timers fire in batches: two scheduler loops share a burst (each timer once, each case stepped
once), a batch stepped ahead is committed at its due time and not before, a case whose step
raises does not hold up the others, and the loop's logs name states once instead of every tick."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Integer, bindparam, create_engine, func, select, text, update

from engine import timer_batch
from engine.models import Case, CaseTimer
from engine.recorder import QueuedNotices
from engine.scheduler import TimerLoop, fire_due_timers, start_background
from engine.timeline_store import verify_cases
from engine.timer_batch import TimerBatch
from infra.clock import SimulatedClock
from infra.db import UTCDateTime
from infra.settings import Settings
from liftcase.bootstrap import build_system
from processes.system import System
from tests.conftest import _fresh_pg
from tests.support.services import throwaway_database
from tests.support.system import START, make_system
from tests.support.timer_cases import ELEMENT, firings, open_rescues


@pytest.fixture
def pg_system(pg_server: str, clock: SimulatedClock) -> Iterator[System]:
    system = make_system(_fresh_pg(pg_server), clock)
    yield system
    system.db.dispose()


def _versions(system: System, ids: list[int]) -> dict[int, int]:
    with system.sessions() as session:
        return dict(session.execute(select(Case.id, Case.version).where(Case.id.in_(ids))).all())  # type: ignore[arg-type]


def _run_until(loops: list[TimerLoop], done: Callable[[], bool], timeout: float = 120) -> None:
    threads = [threading.Thread(target=loop.run, daemon=True) for loop in loops]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for loop in loops:
            loop.stop()
        for t in threads:
            t.join(30)


def test_two_scheduler_loops_share_a_burst_each_timer_once(pg_system: System, clock: SimulatedClock) -> None:
    """Two schedulers (each its own engine and connection pool, as two processes) against one
    PostgreSQL: the claims partition the burst, so every timer fires once and every case is
    stepped once (one version step each: nobody stepped a case the other had already fired)."""
    due = START + timedelta(hours=1)
    ids = open_rescues(pg_system, clock, 150, due)
    before = _versions(pg_system, ids)
    other = build_system(Settings(database_url=pg_system.settings.database_url), clock=clock)
    for s in (pg_system, other):  # notices delivered in-process would move the versions too
        s.engine.notifications_queued = lambda batches: None
    loops = [TimerLoop(s.engine, poll_seconds=0.02, lookahead_seconds=0) for s in (pg_system, other)]
    for loop in loops:
        loop.chunk = 10  # small claims, so both loops take part
    clock.set(due)
    _run_until(loops, lambda: sum(firings(pg_system).values()) >= len(ids))
    fired_by = [loop.fired for loop in loops]
    other.db.dispose()
    counts = firings(pg_system)
    assert sorted(counts) == sorted((cid, ELEMENT) for cid in ids)  # none missing
    assert set(counts.values()) == {1}  # no duplicates
    after = _versions(pg_system, ids)
    assert all(after[cid] == before[cid] + 1 for cid in ids), "a case was stepped twice"
    assert sum(fired_by) == len(ids) and min(fired_by) > 0, f"claims not shared: {fired_by}"


def test_a_second_scheduler_claims_what_the_first_does_not_hold(pg_system: System, clock: SimulatedClock) -> None:
    """The claim skips cases another scheduler's open batch holds (advisory transaction locks), so
    two schedulers split a burst instead of waiting for each other, and a claim ends with its
    transaction (a killed scheduler's connection)."""
    due = START + timedelta(hours=1)
    ids = open_rescues(pg_system, clock, 30, due)
    other = build_system(Settings(database_url=pg_system.settings.database_url), clock=clock)
    clock.set(due)
    try:
        with pg_system.sessions() as first, first.begin(), other.sessions() as second, second.begin():
            held = {cid for cid, _ in TimerBatch(pg_system.engine, first).claim(due, due, 10)}
            taken = {cid for cid, _ in TimerBatch(other.engine, second).claim(due, due, 30)}
            assert len(held) == 10 and held <= set(ids)
            assert taken == set(ids) - held  # the other 20, none of the 10 held
        with other.sessions() as again, again.begin():  # both transactions ended: everything claimable
            assert {cid for cid, _ in TimerBatch(other.engine, again).claim(due, due, 30)} == set(ids)
    finally:
        other.db.dispose()
    assert verify_cases(pg_system.sessions)[1] == []


def test_claims_in_another_database_on_the_server_hide_no_case(pg_system: System, clock: SimulatedClock) -> None:
    """Advisory locks are per database, and so is the claim's look at the held ones: a scheduler of
    another database on the same PostgreSQL (a second city, the test suite's other process) holding
    its own cases 1..n leaves every due case of this database claimable."""
    due = START + timedelta(hours=1)
    ids = open_rescues(pg_system, clock, 5, due)
    clock.set(due)
    with throwaway_database("liftcase_other") as url:
        other = create_engine(url)
        try:
            with other.connect() as conn, conn.begin():  # its claim open, on the same case ids as ours
                for cid in ids:
                    lock = text("SELECT pg_advisory_xact_lock(:c, :id)")
                    conn.execute(lock, {"c": timer_batch.CLAIM_CLASS, "id": cid})
                with pg_system.sessions() as session, session.begin():
                    assert {cid for cid, _ in TimerBatch(pg_system.engine, session).claim(due, due, 10)} == set(ids)
        finally:
            other.dispose()


def test_a_claim_read_before_another_scheduler_committed_steps_nothing_twice(
    pg_system: System, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim's candidates come from its statement's snapshot, its locks are tried after: a
    scheduler that fired a case and released its lock in between leaves a stale candidate. Such a
    claim (made stale here on purpose: a claim statement that still offers the fired case) is
    dropped once the lock is held, so the case is not stepped a second time."""
    due = START + timedelta(hours=1)
    ids = open_rescues(pg_system, clock, 3, due)
    clock.set(due)
    pg_system.engine.notifications_queued = lambda batches: None  # delivered, they move versions too
    pg_system.engine.fire_timers(ids[0])  # the other scheduler's batch, committed
    before = _versions(pg_system, ids)
    stale = (
        text(
            "SELECT id AS case_id, CAST(:cap AS timestamptz) AS due FROM cases "
            "WHERE id = ANY(CAST(:ids AS integer[])) AND NOT (id = ANY(CAST(:held AS integer[]))) "
            f"AND pg_try_advisory_xact_lock({timer_batch.CLAIM_CLASS}, id) ORDER BY id LIMIT :n"
        )
        .bindparams(bindparam("cap", type_=UTCDateTime()), bindparam("ids", value=ids))
        .columns(case_id=Integer, due=UTCDateTime())
    )
    monkeypatch.setattr(timer_batch, "_CLAIM_PG", stale)
    batch = pg_system.engine.fire_due()
    after = _versions(pg_system, ids)
    assert batch.fired == 2
    assert after[ids[0]] == before[ids[0]], "the fired case was stepped again"
    assert all(after[cid] == before[cid] + 1 for cid in ids[1:])
    assert set(firings(pg_system).values()) == {1}


def test_a_batch_stepped_ahead_commits_at_its_due_time_not_before(pg_system: System, clock: SimulatedClock) -> None:
    due = START + timedelta(hours=1)
    ids = open_rescues(pg_system, clock, 40, due)
    clock.set(due - timedelta(seconds=20))
    loop = TimerLoop(pg_system.engine, poll_seconds=0.02, lookahead_seconds=30)
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while loop.engine.clock.now() < due and time.monotonic() < deadline:
            with pg_system.sessions() as session:  # stepped ahead: claimed, but nothing visible yet
                held = session.scalar(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"))
            if held:
                break
            time.sleep(0.05)
        assert held, "the loop did not step the cases ahead"
        time.sleep(0.5)
        assert sum(firings(pg_system).values()) == 0  # not committed before its time
        clock.set(due)
        while sum(firings(pg_system).values()) < len(ids) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        loop.stop()
        thread.join(30)
    assert set(firings(pg_system).values()) == {1} and len(firings(pg_system)) == len(ids)
    with pg_system.sessions() as session:
        stamped = set(session.scalars(text("SELECT DISTINCT at FROM timeline_events WHERE kind = 'timer_fired'")))
    assert len(stamped) == 1 and next(iter(stamped)).replace(tzinfo=due.tzinfo) == due  # fired at its instant


def test_a_case_whose_step_raises_does_not_block_the_batch(
    system: System, clock: SimulatedClock, caplog: pytest.LogCaptureFixture
) -> None:
    due = START + timedelta(hours=1)
    ids = open_rescues(system, clock, 12, due)
    broken = ids[3]
    with system.sessions() as session, session.begin():
        session.execute(update(Case).where(Case.id == broken).values(state="{not json"))
    clock.set(due)
    with caplog.at_level(logging.INFO):
        assert fire_due_timers(system.engine) == len(ids) - 1
    counts = firings(system)
    assert all(counts[(cid, ELEMENT)] == 1 for cid in ids if cid != broken)
    assert counts[(broken, ELEMENT)] == 0
    with system.sessions() as session:  # retried later, not every poll
        retry_at = session.scalar(select(func.min(CaseTimer.fire_at)).where(CaseTimer.case_id == broken))
    assert retry_at == due + timedelta(seconds=60)
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(failed) == 1 and "1 case(s)" in failed[0].getMessage()


def test_committed_firings_are_not_logged_as_failures(
    system: System, clock: SimulatedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The job queue refusing the notices after the commit is a warning about the notices; the
    timers fired, and are neither reported failed nor put back."""
    due = START + timedelta(hours=1)
    ids = open_rescues(system, clock, 5, due)

    def queue_down(batches: list[QueuedNotices]) -> None:
        raise ConnectionError("Error 111 connecting to redis")

    system.engine.notifications_queued = queue_down
    clock.set(due)
    with caplog.at_level(logging.INFO):
        assert fire_due_timers(system.engine) == len(ids)
    assert all(firings(system)[(cid, ELEMENT)] == 1 for cid in ids)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "committed" in warnings[0]
    assert fire_due_timers(system.engine) == 0  # nothing put back to fire again


def test_a_pass_longer_than_the_poll_interval_logs_no_skipped_ticks(
    system: System, clock: SimulatedClock, caplog: pytest.LogCaptureFixture
) -> None:
    due = START + timedelta(hours=1)
    ids = open_rescues(system, clock, 60, due)
    clock.set(due)
    with caplog.at_level(logging.DEBUG):
        running = start_background(system.engine, poll_seconds=0.01)
        try:
            deadline = time.monotonic() + 120
            while sum(firings(system).values()) < len(ids) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)  # idle ticks too
        finally:
            running.shutdown(wait=True)
    assert sum(firings(system).values()) == len(ids)
    assert running.loop.passes >= 1
    noisy = [
        r.getMessage() for r in caplog.records if "skipped" in r.getMessage() or "running instances" in r.getMessage()
    ]
    assert noisy == []
