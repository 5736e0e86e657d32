"""PATCH /api/v1/equipment/{id} attacked from its contract: only an admin; a partial change keeps
what it does not name; no retiring or unretiring through it; organisations of the wrong kind, an
unknown district and attributes outside the class's schema are per-field 422s that change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

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
