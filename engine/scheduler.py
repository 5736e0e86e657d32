"""The timer loop: fire every case timer that is due, in batches, on time.

Due times live in the case_timers table (written by each step), so a restart loses nothing:
timers that came due while the system was down are simply due now and fire once.

The loop runs pass after pass (a pass never overlaps itself, so there is nothing to skip) and
rests a poll interval only when a pass found nothing to fire. Each pass is a batch
(CaseEngine.fire_due, engine.timer_batch): cases due within the lookahead are stepped ahead and
committed at their due time; while a batch waits for its time, timers that are due already fire
in batches of their own. Any number of schedulers may run against PostgreSQL: their claims never
overlap. A failing database is one state, logged when it starts and when it ends.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from engine.definitions import parsed_definition
from engine.models import ProcessDefinition
from engine.runner import CaseEngine
from engine.timer_batch import RETRY_AFTER, TimerBatch
from infra.errors import Conflict

log = logging.getLogger(__name__)
# Cases per claim and the most one batch holds (SQLite holds its write lock for the whole batch).
CHUNK, LIMIT = 100, 2000
SQLITE_LIMIT = 50
NESTED = 20  # cases per batch fired while a batch stepped ahead waits for its time


def _report_failed(batch: TimerBatch) -> None:
    if batch.failed:
        case_id, err = next(iter(batch.failed.items()))
        log.error("timers of %d case(s) failed and are retried in %s (first: case %s: %s)",
                  len(batch.failed), RETRY_AFTER, case_id, err, exc_info=err)  # fmt: skip


def _sqlite(engine: CaseEngine) -> bool:
    return not engine.ids.postgres


def fire_due_timers(engine: CaseEngine, limit: int = 500) -> int:
    """Fire what is due now, batch after batch, up to `limit` cases; returns how many were stepped."""
    chunk = min(CHUNK, SQLITE_LIMIT if _sqlite(engine) else CHUNK)
    fired = 0
    while fired < limit:
        batch = engine.fire_due(limit=min(chunk, limit - fired), chunk=chunk)
        _report_failed(batch)
        fired += batch.fired
        if batch.claimed == 0 or batch.fired == 0:
            break
    return fired


def _unreachable(err: BaseException) -> bool:
    """The database is gone (down, restarting, network), as opposed to a fault of ours."""
    if isinstance(err, DBAPIError):
        return bool(err.connection_invalidated) or type(err.orig).__name__ in (
            "OperationalError", "InterfaceError", "AdminShutdown", "ConnectionTimeout", "ConnectionFailure",
        ) or "connection" in str(err).lower()  # fmt: skip
    return isinstance(err, ConnectionError | OSError)


class Failing:
    """Failing runs of one kind of work are a state: logged once when it starts and once when it
    ends (with how long it lasted and how many runs failed), not once per run."""

    def __init__(self, work: str) -> None:
        self.work = work
        self.since: float | None = None
        self.runs = 0

    def failed(self, err: BaseException) -> None:
        self.runs += 1
        if self.since is not None:
            return
        self.since = time.monotonic()
        first_line = (str(err).strip().splitlines() or [type(err).__name__])[0]
        if _unreachable(err):
            log.warning("database unreachable; %s waits until it is back: %s", self.work, first_line)
        else:
            log.error("%s failed; retried until it succeeds: %s", self.work, first_line, exc_info=err)

    def succeeded(self) -> None:
        if self.since is None:
            return
        log.info("%s succeeds again after %.1f s (%d failed runs)", self.work, time.monotonic() - self.since, self.runs)
        self.since, self.runs = None, 0


def _guarded(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    """A periodic job whose failures are a state too (an outage is not a traceback per run)."""
    failing = Failing(f"periodic job {name}")

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
        except Exception as err:
            failing.failed(err)
            return None
        failing.succeeded()
        return result

    return run


class _GuardedJobs:
    """What `extra` adds periodic work to: APScheduler, each job guarded."""

    def __init__(self, scheduler: BackgroundScheduler) -> None:
        self.scheduler = scheduler

    def add_job(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        name = str(kwargs.get("id") or getattr(func, "__name__", "job"))
        return self.scheduler.add_job(_guarded(func, name), *args, **kwargs)


def warm_up(engine: CaseEngine) -> None:
    """Parse the latest version of every process before the first pass (a burst right after a
    start should not wait for it); a database that is not there yet is the loop's business."""
    try:
        with engine.sessions() as session:
            for key in session.scalars(select(ProcessDefinition.key).distinct()).all():
                parsed_definition(engine.latest(session, key))
    except Exception as err:
        log.info("no warm-up (%s); the first pass parses what it needs", type(err).__name__)


class TimerLoop:
    """Pass after pass of CaseEngine.fire_due until stopped (run() in a thread or the main one)."""

    def __init__(self, engine: CaseEngine, poll_seconds: float = 0.25, lookahead_seconds: float = 60.0) -> None:
        self.engine = engine
        self.poll = poll_seconds
        sqlite = _sqlite(engine)
        # SQLite: no stepping ahead (the batch would hold the write lock while it waits).
        self.lookahead = timedelta(seconds=0 if sqlite else lookahead_seconds)
        self.limit = SQLITE_LIMIT if sqlite else LIMIT
        self.chunk = min(CHUNK, self.limit)
        self.failing = Failing("the timer loop")
        self._stop = threading.Event()
        self.passes = 0
        self.fired = 0  # cases stepped, over the loop's life

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set():
            batch = self._pass(self.lookahead, self.limit)
            self.passes += 1
            if batch is None or batch.fired == 0:
                self._stop.wait(self.poll)

    def _pass(self, lookahead: timedelta, limit: int) -> TimerBatch | None:
        try:
            batch = self.engine.fire_due(limit=limit, chunk=self.chunk, lookahead=lookahead, wait_until=self._wait)
        except Conflict as err:  # a write lost a race the claim should have excluded: next pass
            log.info("timer batch rolled back and retried: %s", err)
            return None
        except Exception as err:
            self.failing.failed(err)
            return None
        self.failing.succeeded()
        _report_failed(batch)
        self.fired += batch.fired
        return batch

    def _wait(self, moment: datetime) -> bool:
        """Until the clock reads `moment`, fire what is already due in small batches of its own
        (a timer set shortly before its time is not kept waiting behind a batch stepped ahead)."""
        while not self._stop.is_set():
            left = (moment - self.engine.clock.now()).total_seconds()
            if left <= 0:
                return True
            if left > self.poll + 2 * NESTED * self.engine.timer_pace.step:  # done before `moment`
                nested = self._pass(timedelta(0), NESTED)
                if nested is not None and nested.fired:
                    continue
            self._stop.wait(min(left, self.poll, 0.05))
        return False


class Background:
    """Embedded mode's timer loop thread and APScheduler (the periodic work) together."""

    def __init__(self, loop: TimerLoop, periodic: BackgroundScheduler) -> None:
        self.loop, self.periodic = loop, periodic
        self.thread = threading.Thread(target=loop.run, name="case-timers", daemon=True)

    def start(self) -> None:
        self.periodic.start()
        self.thread.start()

    def shutdown(self, wait: bool = True) -> None:
        self.loop.stop()
        self.periodic.shutdown(wait=wait)
        if wait:
            self.thread.join()

    def add_job(self, *args: Any, **kwargs: Any) -> Any:
        return self.periodic.add_job(*args, **kwargs)


def start_background(
    engine: CaseEngine,
    poll_seconds: float = 0.25,
    extra: Callable[[Any], None] | None = None,
    lookahead_seconds: float = 60.0,
) -> Background:
    """Embedded mode: the timer loop as a daemon thread of this process. `extra` adds the
    application's periodic jobs (infra.periodic.add_to) to an APScheduler beside it."""
    periodic = BackgroundScheduler(daemon=True)
    if extra is not None:
        extra(_GuardedJobs(periodic))
    running = Background(TimerLoop(engine, poll_seconds, lookahead_seconds), periodic)
    running.start()
    return running


def run_forever(
    engine: CaseEngine,
    poll_seconds: float = 0.25,
    extra: Callable[[Any], None] | None = None,
    lookahead_seconds: float = 60.0,
) -> None:
    """Deployed mode: `liftcase scheduler`, its own process: the timer loop in the main thread,
    the periodic work in APScheduler's thread. SIGTERM or Ctrl-C stop it after the current pass
    (a batch waiting for its time is rolled back: its timers stay due)."""
    loop = TimerLoop(engine, poll_seconds, lookahead_seconds)
    periodic = BackgroundScheduler(daemon=True)
    if extra is not None:
        extra(_GuardedJobs(periodic))
    periodic.start()
    signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    warm_up(engine)
    log.info("timer loop running (poll %.2f s, lookahead %s)", poll_seconds, loop.lookahead)
    try:
        loop.run()
    except KeyboardInterrupt:
        pass
    finally:
        periodic.shutdown(wait=False)
