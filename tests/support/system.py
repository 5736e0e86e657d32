"""A system over a fresh database: schema, a seeded small city, the processes deployed; and the
moment the simulated clock starts at."""

from __future__ import annotations

from datetime import UTC, datetime

from demo.seed import seed_city
from infra.clock import SimulatedClock
from infra.settings import Settings
from liftcase.bootstrap import build_system, create_schema
from processes.system import System
from tests.support import seeded_copies

START = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def make_system(url: str, clock: SimulatedClock, *, elevators: int = 200, **settings: object) -> System:
    """The first build of a seed in a run migrates, seeds and deploys; later ones with the same seed
    get a copy of that database (tests/support/seeded_copies.py), which holds the same rows."""
    system = build_system(Settings(database_url=url, **settings), clock=clock)  # type: ignore[arg-type]
    key = seeded_copies.seed_key(system.settings, elevators, clock.now())
    if seeded_copies.restore(url, key):
        return system
    first = seeded_copies.empty_before_build(url)
    create_schema(system)
    with system.sessions() as session, session.begin():
        seed_city(session, elevators=elevators, devices=20, clock_now=clock.now(), city=system.settings.city_profile)
    system.deploy_processes()
    if first:
        seeded_copies.keep(url, key)
    return system
