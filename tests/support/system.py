"""A system over a fresh database: schema, a seeded small city, the processes deployed; and the
moment the simulated clock starts at."""

from __future__ import annotations

from datetime import UTC, datetime

from demo.seed import seed_city
from infra.clock import SimulatedClock
from infra.settings import Settings
from liftcase.bootstrap import build_system, create_schema
from processes.system import System

START = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def make_system(url: str, clock: SimulatedClock, *, elevators: int = 200, **settings: object) -> System:
    system = build_system(Settings(database_url=url, **settings), clock=clock)  # type: ignore[arg-type]
    create_schema(system)
    with system.sessions() as session, session.begin():
        seed_city(session, elevators=elevators, devices=20, clock_now=clock.now(), city=system.settings.city_profile)
    system.deploy_processes()
    return system
