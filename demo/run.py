"""The embedded demo's setup: a seeded city with processes deployed, timers and periodic work in
this process, some live cases, risk scores and 30 simulated boxes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from demo.activity import make_activity
from demo.feed import start_live_telemetry
from demo.seed import DEMO_PASSWORD, seed_city
from detectors.risk.flows import score_all
from engine.models import Case
from engine.scheduler import start_background
from processes.system import System
from registry.models import Elevator


@dataclass(frozen=True)
class Prepared:
    password: str
    qr_code: str | None


@dataclass(frozen=True)
class Running:
    timers: Any  # the APScheduler background scheduler
    summary: object
    feed: str


def prepare(system: System) -> Prepared:
    """Seed the city once (a database with cases is kept) and deploy the processes."""
    from werkzeug.security import generate_password_hash

    with system.sessions() as session:
        seeded = session.scalar(select(Case.id).limit(1)) is not None
    if not seeded:
        with system.sessions() as session, session.begin():
            seed_city(
                session,
                clock_now=system.clock.now(),
                hash_password=generate_password_hash,
                city=system.settings.city_profile,
            )
    system.deploy_processes()
    with system.sessions() as session:
        qr = session.scalar(select(Elevator.qr_code).where(Elevator.device_id.is_not(None)).order_by(Elevator.id))
    return Prepared(DEMO_PASSWORD, qr)


def start_background_work(system: System, periodic: Callable[[Any], None], *, live_feed: bool) -> Running:
    """Timer loop and periodic work as threads of this process, some activity, and the live boxes."""
    timers = start_background(system.engine, system.settings.timer_poll_seconds, extra=periodic)
    summary = make_activity(system)
    score_all(system)  # the console's risk view has scores before the first 02:00 run
    feed = start_live_telemetry(system) if live_feed else "off (--no-serve)"
    return Running(timers, summary, feed)
