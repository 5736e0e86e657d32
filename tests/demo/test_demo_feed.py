"""The demo's live telemetry without a broker: simulated boxes feed the real ingest pipeline."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from demo.feed import start_live_telemetry
from infra.clock import SimulatedClock, SystemClock
from infra.settings import Settings
from liftcase.bootstrap import build_system
from registry.models import Device
from tests.support.system import START, make_system


def test_without_a_broker_the_stream_goes_straight_into_the_pipeline(sqlite_url: str) -> None:
    make_system(sqlite_url, SimulatedClock(START), elevators=60).db.dispose()
    system = build_system(Settings(database_url=sqlite_url), clock=SystemClock())  # the boxes speak in real time
    assert start_live_telemetry(system, devices=5, hours=0.02, port=1) == "direct"  # nothing listens on port 1
    deadline, heard = time.monotonic() + 20, 0
    while time.monotonic() < deadline and not heard:
        time.sleep(0.5)
        with system.sessions() as session:
            heard = session.scalar(select(func.count()).where(Device.last_seen_at.is_not(None))) or 0
    system.db.dispose()
    assert heard > 0
