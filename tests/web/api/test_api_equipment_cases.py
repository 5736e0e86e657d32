"""Cases about other special equipment (a boiler, a crane: cases.equipment_id, no elevator) on the
dashboard map at the equipment's own position, and the case list's filter by what a case is about
(elevators, a class of equipment, one piece), both within the caller's scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.system import System
from registry.equipment.models import Equipment, EquipmentStatus
from registry.models import Organisation, User
from tests.support.api_client import Client, app_for, demo_elevator
from tests.support.system import make_system


@pytest.fixture
def api(db_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=30, upload_dir=tmp_path / "uploads")
    yield system, app_for(system)
    system.db.dispose()


def _pieces(system: System) -> tuple[Equipment, Equipment]:
    """A piece with coordinates in the district regulator's district and one elsewhere."""
    with system.sessions() as session:
        org = session.scalar(select(User.organisation_id).where(User.username == "regulator"))
        district = session.get(Organisation, org).district_code
        usable = (Equipment.status == EquipmentStatus.IN_USE, Equipment.lat.is_not(None))
        mine = session.scalars(select(Equipment).where(*usable, Equipment.district_code == district)).first()
        assert mine is not None
        other = session.scalars(select(Equipment).where(*usable, Equipment.district_code != district)).first()
        assert other is not None
        return mine, other


def _rectification(client: Client, equipment_id: int) -> int:
    body = {"type": "rectification", "equipment_id": equipment_id, "report_no": "GL-9", "findings": ["安全阀失效"],
            "reason": "检验报告"}  # fmt: skip
    r = client.post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.get_json()
    return int(r.get_json()["case_id"])


def _ids(client: Client, **query: Any) -> set[int]:
    r = client.get("/api/v1/cases", query_string={**query, "page_size": 100})
    assert r.status_code == 200, r.get_json()
    return {c["id"] for c in r.get_json()}


def test_equipment_cases_are_on_the_map_and_filtered_by_what_they_are_about(api: tuple[System, Flask]) -> None:
    system, app = api
    mine, other = _pieces(system)
    regulator, city = Client(app, "regulator"), Client(app, "city_regulator")
    near = _rectification(regulator, mine.id)
    far = _rectification(city, other.id)
    rescue = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=demo_elevator(system), signal={"source": "qr"}
    ).case_id

    # The map: the boiler's case at the boiler, with its class; scope decides whose.
    points = {p["id"]: p for p in city.get("/api/v1/dashboard/map").get_json()}
    assert {near, far, rescue} <= set(points)
    point = points[near]
    assert (point["lat"], point["lon"], point["address"]) == (mine.lat, mine.lon, mine.address)
    subject = (point["equipment_id"], point["elevator_id"], point["equipment_class"])
    assert subject == (mine.id, None, mine.equipment_class)
    assert points[rescue]["elevator_id"] == demo_elevator(system) and points[rescue]["equipment_class"] is None
    own = {p["id"] for p in regulator.get("/api/v1/dashboard/map").get_json()}
    assert near in own and far not in own

    # The list: by class, by piece, elevators only; never beyond scope.
    assert near in _ids(city, equipment_class=mine.equipment_class)
    assert rescue not in _ids(city, equipment_class=mine.equipment_class)
    assert far in _ids(city, equipment_class=other.equipment_class)
    assert far not in _ids(regulator, equipment_class=other.equipment_class)
    same_class = mine.equipment_class == other.equipment_class
    assert (near in _ids(city, equipment_class=other.equipment_class)) == same_class
    assert _ids(city, equipment_id=other.id) == {far}
    assert _ids(regulator, equipment_id=other.id) == set()
    elevators = _ids(city, equipment_class="elevator")
    assert rescue in elevators and not elevators & {near, far}
    bad = city.get("/api/v1/cases", query_string={"equipment_class": "spaceship"})
    assert bad.status_code == 422 and "equipment_class" in bad.get_json()["errors"]

    # A saved filter keeps it; the export takes the same filter.
    query = {"equipment_class": mine.equipment_class}
    saved = city.post("/api/v1/saved-filters", json={"name": "锅炉", "query": query})
    assert saved.status_code in (200, 201) and saved.get_json()["query"] == query
    csv = city.get("/api/v1/reports/exports/cases", query_string={"equipment_id": other.id, "format": "csv"})
    assert csv.status_code == 200
    lines = csv.get_data(as_text=True).strip().splitlines()
    assert len(lines) == 2  # the header and the one case
