"""What the elevator portrait and the special-equipment screen read: risk with factors, the
inspection overview, the live warning feed — each within the reader's scope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from detectors.risk.flows import score_all
from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.system import System
from registry.models import Elevator
from tests.support.api_client import Client, app_for, demo_elevator, other_elevator
from tests.support.system import make_system


@pytest.fixture
def api(sqlite_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(sqlite_url, clock, elevators=80)
    yield system, app_for(system)
    system.db.dispose()


def test_risk_score_with_factors(api: tuple[System, Flask]) -> None:
    system, app = api
    lift = demo_elevator(system)
    maint = Client(app, "maint")
    assert maint.get(f"/api/v1/elevators/{lift}/risk").status_code == 404
    score_all(system)
    risk = maint.get(f"/api/v1/elevators/{lift}/risk").get_json()
    assert 0 <= risk["score"] <= 100 and risk["level"] in ("low", "medium", "high", "critical")
    assert risk["factors"] and all(f["name"] for f in risk["factors"])
    assert maint.get(f"/api/v1/elevators/{other_elevator(system)}/risk").status_code == 404


def test_inspection_overview_counts_in_scope(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    system, app = api
    today = clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    with system.sessions() as s:
        lifts = list(s.scalars(select(Elevator)))
    expected_city = sum(1 for e in lifts if e.next_inspection_due and e.next_inspection_due < today)
    expected_30 = sum(
        1 for e in lifts if e.next_inspection_due and today <= e.next_inspection_due <= today + timedelta(days=30)
    )
    city = Client(app, "city_regulator").get("/api/v1/dashboard/inspection").get_json()
    assert (city["total"], city["expired"], city["due_30"]) == (len(lifts), expected_city, expected_30)
    district = Client(app, "regulator").get("/api/v1/dashboard/inspection").get_json()
    assert [d["district_code"] for d in district["by_district"]] == ["511702"]
    assert district["total"] == sum(1 for e in lifts if e.district_code == "511702")


def test_warning_feed_is_scoped_and_newest_first(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    system, app = api
    mine, other = demo_elevator(system), other_elevator(system)
    for n, lift in enumerate((mine, other, mine)):
        clock.advance(timedelta(minutes=1))
        open_or_join(
            system.engine,
            system.settings.sla_file,
            "warning",
            elevator_id=lift,
            signal={
                "source": "iot",
                "kind": "door_lock_fault",
                "warning_type": "door_lock_fault",
                "idempotency_key": f"feed-{n}",
            },
        )
    maint_feed = Client(app, "maint").get("/api/v1/dashboard/warnings").get_json()
    assert [w["elevator_id"] for w in maint_feed] == [mine, mine]
    assert maint_feed[0]["joined"] is True and maint_feed[1]["joined"] is False
    city_feed = Client(app, "city_regulator").get("/api/v1/dashboard/warnings?limit=2").get_json()
    assert [w["elevator_id"] for w in city_feed] == [mine, other]
