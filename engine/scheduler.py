"""The timer loop: fire every case timer that is due, within a poll interval of its time.

Due times live in the case_timers table (written by each step), so a restart loses nothing:
timers that came due while the system was down are simply due now and fire once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import func, select, update

from engine.models import CaseTimer
from engine.runner import CaseEngine
from infra.errors import Conflict, NotFound

log = logging.getLogger(__name__)
RETRY_AFTER = timedelta(seconds=60)


def due_case_ids(engine: CaseEngine, limit: int = 500) -> list[int]:
    now = engine.clock.now()
    with engine.sessions() as session:
        rows = session.execute(
            select(CaseTimer.case_id, func.min(CaseTimer.fire_at).label("due"))
            .where(CaseTimer.fire_at <= now)
            .group_by(CaseTimer.case_id)
            .order_by("due")
            .limit(limit)
        ).all()
    return [row.case_id for row in rows]


def fire_due_timers(engine: CaseEngine, limit: int = 500) -> int:
    """One pass; returns how many cases were stepped."""
    fired = 0
    for case_id in due_case_ids(engine, limit):
        try:
            engine.fire_timers(case_id)
            fired += 1
        except (Conflict, NotFound):
            continue  # another process stepped it first; its new timers are already written
        except Exception:
            log.exception("timers of case %s failed; retrying in %s", case_id, RETRY_AFTER)
            with engine.sessions() as session, session.begin():
                session.execute(
                    update(CaseTimer)
                    .where(CaseTimer.case_id == case_id, CaseTimer.fire_at <= engine.clock.now())
                    .values(fire_at=engine.clock.now() + RETRY_AFTER)
                )
    return fired


def _schedule(scheduler: BackgroundScheduler | BlockingScheduler, engine: CaseEngine, poll_seconds: float) -> None:
    scheduler.add_job(
        fire_due_timers,
        "interval",
        args=[engine],
        seconds=poll_seconds,
        id="case-timers",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )


def start_background(
    engine: CaseEngine, poll_seconds: float = 0.25, extra: Callable[[Any], None] | None = None
) -> BackgroundScheduler:
    """Embedded mode: the timer loop as a daemon thread of this process. `extra` adds the
    application's periodic jobs (infra.periodic.add_to)."""
    scheduler = BackgroundScheduler(daemon=True)
    _schedule(scheduler, engine, poll_seconds)
    if extra is not None:
        extra(scheduler)
    scheduler.start()
    return scheduler


def run_forever(
    engine: CaseEngine, poll_seconds: float = 0.25, extra: Callable[[Any], None] | None = None
) -> None:
    """Deployed mode: `liftcase scheduler`, its own process."""
    scheduler = BlockingScheduler()
    _schedule(scheduler, engine, poll_seconds)
    if extra is not None:
        extra(scheduler)
    fire_due_timers(engine)  # whatever came due while we were down fires now, once
    scheduler.start()
