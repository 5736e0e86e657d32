"""The pull API scoped like every read (a maintenance user sees its elevators' events only, a
city regulator all), resumable by cursor, and the subscription admin (admins only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from connectors.feed import flows
from infra.clock import SimulatedClock
from processes import administration
from processes.system import System
from registry.models import Elevator
from tests.connectors.feed.conftest import open_cases
from tests.support.api_client import Client, app_for, demo_elevator, other_elevator
from tests.support.system import START, make_system


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[System, Flask, int, int]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('feed') / 'db.sqlite3'}"
    clock = SimulatedClock(START)
    system = make_system(url, clock, elevators=120)
    mine, theirs = demo_elevator(system), other_elevator(system)
    open_cases(system, [mine, theirs], comments=2)
    with system.sessions() as session, session.begin():
        elevator = session.get(Elevator, mine)
        administration.update_elevator(session, elevator, {"address": "改 1 号"}, actor="admin", now=clock.now())
    flows.sequence(system)
    app = app_for(system)
    yield system, app, mine, theirs
    system.db.dispose()


def _all(client: Client, limit: int) -> list[dict[str, Any]]:
    events, after = [], 0
    while True:
        page = client.get(f"/api/v1/feed?after={after}&limit={limit}").get_json()
        if not page["events"]:
            assert page["next"] == after
            return events
        events += page["events"]
        after = page["next"]


def test_pull_is_scoped_and_resumable(world: tuple[System, Flask, int, int]) -> None:
    _, app, mine, theirs = world
    city = _all(Client(app, "city_regulator"), limit=500)
    maint = _all(Client(app, "maint"), limit=3)
    assert {e["case"]["elevator_id"] for e in city if e["stream"] == "case"} == {mine, theirs}
    assert maint and {e["case"]["elevator_id"] for e in maint if e["stream"] == "case"} == {mine}
    # paging by 3 gives every event of the user's scope once, in feed order
    assert [e["position"] for e in maint] == sorted({e["position"] for e in maint})
    assert [e for e in city if e["stream"] == "register" or e["case"]["elevator_id"] == mine] == maint
    assert any(e["kind"] == "elevator.updated" for e in maint)  # its own elevator's register change
    assert len({e["event_id"] for e in city}) == len(city)
    assert Client(app, "analyst").get("/api/v1/feed").get_json()["events"] == []


def test_subscription_admin_is_for_admins(world: tuple[System, Flask, int, int]) -> None:
    _, app, _, _ = world
    body = {"name": "省平台", "url": "http://127.0.0.1:7090/in", "secret": "s" * 32, "kinds": ["rescue"]}
    assert Client(app, "maint").post("/api/v1/feed/subscriptions", json=body).status_code == 403
    admin = Client(app, "admin")
    r = admin.post("/api/v1/feed/subscriptions", json=body)
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert "secret" not in created and created["kinds"] == ["rescue"] and created["backlog"]["pending"] == 0
    r = admin.patch(f"/api/v1/feed/subscriptions/{created['id']}", json={"districts": ["511702"], "active": False})
    assert r.status_code == 200 and r.get_json()["districts"] == ["511702"] and r.get_json()["active"] is False
    assert admin.post("/api/v1/feed/subscriptions", json={**body, "secret": "short"}).status_code == 422
    assert [s["name"] for s in admin.get("/api/v1/feed/subscriptions").get_json()] == ["省平台"]
    assert admin.delete(f"/api/v1/feed/subscriptions/{created['id']}").status_code == 204
    assert admin.get("/api/v1/feed/subscriptions").get_json() == []
    log = admin.get("/api/v1/admin-audit?kind=feed_subscription.created").get_json()
    assert log and log[0]["changes"]["secret"] == "***"
