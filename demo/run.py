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
from demo.seed_maintenance import seed_maintenance
from detectors.risk.flows import score_all
from engine.models import Case
from engine.scheduler import start_background
from processes.system import System
from registry.models import Elevator, User


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
    if not seeded:
        seed_maintenance(system)  # tags, visits to confirm, an unproven arrival: needs the processes
    with system.sessions() as session:
        qr = session.scalar(select(Elevator.qr_code).where(Elevator.device_id.is_not(None)).order_by(Elevator.id))
    return Prepared(DEMO_PASSWORD, qr)


def passenger_qr_code(system: System) -> str | None:
    """The elevator the banner's passenger page is for: one that the demo `maint` maintains and
    `property` uses, with no box of its own (the simulator opens no case on it) and no open case,
    so a 一键救援 call there opens a fresh rescue that `maint`, the on-call technician, gets."""
    with system.sessions() as session:
        maint = select(User.organisation_id).where(User.username == "maint").scalar_subquery()
        owner = select(User.organisation_id).where(User.username == "property").scalar_subquery()
        busy = select(Case.elevator_id).where(Case.status == "open", Case.elevator_id.is_not(None))
        mine = select(Elevator.qr_code).where(Elevator.maintenance_unit_id == maint, Elevator.id.not_in(busy))
        return session.scalar(
            mine.order_by((Elevator.use_unit_id != owner), Elevator.device_id.is_not(None), Elevator.id).limit(1)
        )


def start_background_work(system: System, periodic: Callable[[Any], None], *, live_feed: bool) -> Running:
    """Timer loop and periodic work as threads of this process, some activity, and the live boxes."""
    timers = start_background(system.engine, system.settings.timer_poll_seconds, extra=periodic)
    summary = make_activity(system)
    score_all(system)  # the console's risk view has scores before the first 02:00 run
    feed = start_live_telemetry(system) if live_feed else "off (--no-serve)"
    return Running(timers, summary, feed)
