"""PATCH /api/v1/equipment/{id} attacked from its contract: only an admin; a partial change keeps
what it does not name; no retiring or unretiring through it; organisations of the wrong kind, an
unknown district and attributes outside the class's schema are per-field 422s that change nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.models import Case
from infra.clock import SimulatedClock
from processes.equipment import add_equipment
from processes.system import System
from registry.equipment.models import Equipment
from registry.models import Organisation, OrgKind
from tests.support.api_client import Client, app_for
from tests.support.system import make_system

BOILER = {"type": "steam", "rated_pressure_mpa": 1.25, "fuel": "gas"}


@pytest.fixture
def env(db_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask, int]]:
    system = make_system(db_url, clock, elevators=20)
    with system.sessions() as session, session.begin():
        unit = session.scalars(
            select(Organisation).where(Organisation.kind == OrgKind.USE_UNIT).order_by(Organisation.id)
        ).first()
        row = add_equipment(
            session,
            {
                "equipment_class": "boiler", "register_code": "T-boiler-0001", "name": "1号锅炉",
                "address": "通川区测试路1号", "district_code": unit.district_code, "lat": 31.2, "lon": 107.5,
                "use_unit_id": unit.id, "attributes": BOILER,
            },
            actor="tester",
            now=clock.now(),
        )  # fmt: skip
        equipment_id = row.id
    yield system, app_for(system), equipment_id
    system.db.dispose()


def record(system: System, equipment_id: int) -> dict[str, Any]:
    with system.sessions() as session:
        row = session.get(Equipment, equipment_id)
        return {c: getattr(row, c) for c in ("name", "attributes", "status", "use_unit_id", "district_code")}


def test_patch_attacks(env: tuple[System, Flask, int]) -> None:
    system, app, equipment_id = env
    url = f"/api/v1/equipment/{equipment_id}"
    before = record(system, equipment_id)
    for name in ("regulator", "property", "maint"):
        assert Client(app, name).patch(url, json={"name": "改名"}).status_code == 403, name
    assert app.test_client().patch(url, json={"name": "改名"}).status_code == 401
    admin = Client(app, "admin")
    with system.sessions() as session:
        kind = Organisation.kind == OrgKind.MAINTENANCE_UNIT
        maintainer = session.scalars(select(Organisation.id).where(kind)).first()
    for hostile in (
        {"status": "retired"},
        {"retired_at": "2026-01-01T00:00:00Z"},
        {"register_code": "T-other-0002"},
        {"use_unit_id": maintainer},
        {"use_unit_id": 2**31 - 1},
        {"district_code": "999999"},
        {"attributes": {"type": "nuclear"}},
        {"attributes": {"rated_pressure_mpa": "1e308"}},
        {"lat": "NaN"},
        {"name": ""},
    ):
        r = admin.patch(url, json=hostile)
        assert r.status_code == 422, (hostile, r.status_code, r.get_json())
    assert record(system, equipment_id) == before
    r = admin.patch(url, json={"name": "2号锅炉"})
    assert r.status_code == 200, r.get_json()
    after = record(system, equipment_id)
    assert after == {**before, "name": "2号锅炉"}  # the class's attributes were not wiped by a partial change


def test_eight_regulators_opening_one_equipment_case_at_once_make_one_case(
    env: tuple[System, Flask, int], db_url: str
) -> None:
    """POST /cases with equipment_id from 8 threads (PostgreSQL): one case, the others join it."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a real race needs PostgreSQL's concurrent writers")
    system, app, equipment_id = env
    with system.sessions() as session, session.begin():
        session.get(Equipment, equipment_id).district_code = "511702"  # the demo regulator's district
    clients = [Client(app, "regulator") for _ in range(8)]
    body = {"type": "expiry", "equipment_id": equipment_id, "due_date": "2027-01-10", "reason": "现场检查发现过期"}
    gate, answers = threading.Barrier(8), []

    def one(client: Client) -> None:
        gate.wait()
        r = client.post("/api/v1/cases", json=body)
        answers.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=one, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in answers) == [200] * 7 + [201], answers
    assert len({a["case_id"] for _, a in answers}) == 1
    with system.sessions() as session:
        opened = session.scalar(select(func.count()).select_from(Case).where(Case.equipment_id == equipment_id))
    assert opened == 1
