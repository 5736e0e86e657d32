"""The register of the seven other classes of special equipment: class-specific attributes checked by
their JSON Schema, inspection cycles, add / edit / retire (never delete), CSV and XLSX import with
per-row errors, scope by organisation, and the figures of the special-equipment screen (counts and
expiries per class, IoT coverage per elevator and place category), computed here independently from
the register. SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from openpyxl import Workbook
from sqlalchemy import select

from infra.clock import SimulatedClock
from infra.settings import CITY_TZ
from processes.models import AdminAuditEntry
from processes.system import System
from registry.equipment.classes import CLASSES
from registry.equipment.models import Equipment
from registry.models import District, Elevator, Organisation, OrgKind, User
from tests.support.api_client import Client, app_for
from tests.support.system import make_system

BOILER_ATTRS = {"type": "steam", "rated_pressure_mpa": 1.25, "rated_evaporation_t_h": 4, "fuel": "gas"}


@pytest.fixture
def api(db_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=80)
    yield system, app_for(system)
    system.db.dispose()


def today(system: System) -> date:
    return system.clock.now().astimezone(CITY_TZ).date()


def units(system: System, district: str = "511702") -> tuple[Organisation, Organisation]:
    """A use unit and a maintenance unit of the district."""
    with system.sessions() as session:
        pick = {}
        for kind in (OrgKind.USE_UNIT, OrgKind.MAINTENANCE_UNIT):
            stmt = select(Organisation).where(Organisation.kind == kind, Organisation.district_code == district)
            pick[kind] = session.scalars(stmt.order_by(Organisation.id)).first()
        return pick[OrgKind.USE_UNIT], pick[OrgKind.MAINTENANCE_UNIT]


def boiler(system: System, code: str = "11005117022018000001", **extra: Any) -> dict[str, Any]:
    uu, mu = units(system)
    return {
        "equipment_class": "boiler", "register_code": code, "name": "1号燃气蒸汽锅炉",
        "address": "通川区西外大道1号锅炉房", "district_code": "511702", "lat": 31.21, "lon": 107.49,
        "use_unit_id": uu.id, "maintenance_unit_id": mu.id, "attributes": BOILER_ATTRS,
        "last_inspected_on": "2026-03-10", "place_category": "hospital", **extra,
    }  # fmt: skip


def test_the_seven_classes_with_their_schemas(api: tuple[System, Flask]) -> None:
    _, app = api
    classes = Client(app, "regulator").get("/api/v1/equipment-classes").get_json()
    assert [c["name_zh"] for c in classes] == [
        "锅炉", "压力容器", "压力管道", "起重机械", "客运索道", "大型游乐设施", "场(厂)内专用机动车辆"
    ]  # fmt: skip
    assert all(c["attributes"]["type"] == "object" and c["cycle_months"] > 0 for c in classes)


def test_add_checks_attributes_code_and_references(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    r = admin.post("/api/v1/equipment", json=boiler(system))
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert made["inspection_cycle_months"] == 12 and made["next_inspection_due"] == "2027-03-10"
    assert made["key_place"] is True and made["status"] == "in_use"

    bad = admin.post(
        "/api/v1/equipment",
        json=boiler(system, "31005117022018000002", attributes={"type": "nuclear", "rated_pressure_mpa": -1}),
    )
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]
    assert "starts with 1" in " ".join(errors["register_code"])
    assert {"attributes", "attributes.type", "attributes.rated_pressure_mpa"} <= set(errors)  # fuel missing
    foreign = admin.post("/api/v1/equipment", json=boiler(system, "11003207062018000003"))
    assert foreign.status_code == 422 and "51xxxx" in foreign.get_json()["errors"]["register_code"][0]
    _, mu = units(system)
    wrong_unit = admin.post("/api/v1/equipment", json=boiler(system, "11005117022018000004", use_unit_id=mu.id))
    assert wrong_unit.status_code == 422 and "use_unit_id" in wrong_unit.get_json()["errors"]
    again = admin.post("/api/v1/equipment", json=boiler(system))
    assert again.status_code == 409

    vessel = {
        **boiler(system, "21005117022019000001"), "equipment_class": "pressure_vessel", "name": "储气罐",
        "attributes": {"category": "II", "medium": "压缩空气", "design_pressure_mpa": 0.8, "volume_m3": 2,
                       "safety_grade": 1},
    }  # fmt: skip
    made = admin.post("/api/v1/equipment", json=vessel).get_json()
    assert made["inspection_cycle_months"] == 72 and made["next_inspection_due"] == "2032-03-10"  # grade 1: 6 years
    stopped = admin.post("/api/v1/equipment", json=boiler(system, "11005117022018000005", status="stopped"))
    assert stopped.status_code == 201 and stopped.get_json()["status"] == "stopped"
    assert (
        Client(app, "property").post("/api/v1/equipment", json=boiler(system, "11005117022018000009")).status_code
        == 403
    )


def test_edit_and_retire_never_delete(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    made = admin.post("/api/v1/equipment", json=boiler(system)).get_json()
    url = f"/api/v1/equipment/{made['id']}"
    changed = admin.patch(url, json={"attributes": {**BOILER_ATTRS, "fuel": "electric"}, "status": "stopped"})
    assert changed.status_code == 200 and changed.get_json()["attributes"]["fuel"] == "electric"
    assert admin.patch(url, json={"attributes": {"type": "steam"}}).status_code == 422
    retired = admin.post(f"{url}/retire", json={"reason": "锅炉改造为电加热，原设备报废"})
    assert retired.status_code == 200 and retired.get_json()["status"] == "retired"
    assert admin.patch(url, json={"name": "x"}).status_code == 409
    assert admin.post(f"{url}/retire", json={"reason": "again"}).status_code == 409
    assert admin.delete(url).status_code == 405  # no deleting: the record and its history stay
    assert admin.get(url).get_json()["retired_reason"] == "锅炉改造为电加热，原设备报废"
    with system.sessions() as session:
        kinds = list(session.scalars(select(AdminAuditEntry.kind).order_by(AdminAuditEntry.seq)))
    assert kinds[-3:] == ["equipment.created", "equipment.updated", "equipment.retired"]


def test_scope_by_organisation(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    here = admin.post("/api/v1/equipment", json=boiler(system)).get_json()
    uu2, mu2 = units(system, "511703")
    there = admin.post(
        "/api/v1/equipment",
        json=boiler(
            system, "11005117032018000001", district_code="511703", use_unit_id=uu2.id, maintenance_unit_id=mu2.id
        ),
    ).get_json()

    def ids(user: str) -> set[int]:
        """Of the two added here (their codes start 11005117), the ones `user` sees."""
        return {e["id"] for e in Client(app, user).get("/api/v1/equipment?q=11005117").get_json()}

    def total(user: str) -> int:
        return json.loads(Client(app, user).get("/api/v1/equipment").headers["X-Pagination"])["total"]

    with system.sessions() as session:
        register = list(session.scalars(select(Equipment)))
    assert total("regulator") == sum(1 for e in register if e.district_code == "511702")
    assert total("city_regulator") == len(register)

    assert ids("regulator") == {here["id"]} and ids("city_regulator") == {here["id"], there["id"]}
    uu, _ = units(system)
    with system.sessions() as session, session.begin():
        owner = session.scalar(select(User).where(User.organisation_id == uu.id))
        assert owner is not None
        owner_name = owner.username
    assert ids(owner_name) == {here["id"]}
    assert Client(app, "regulator").get(f"/api/v1/equipment/{there['id']}").status_code == 404
    assert ids("analyst") == set()


def _import(admin: Client, data: bytes, name: str, dry_run: bool = False) -> dict[str, Any]:
    url = "/api/v1/equipment/import" + ("?dry_run=true" if dry_run else "")
    r = admin.post(url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_import_csv_and_xlsx_with_per_row_errors(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    uu, mu = units(system)
    header = (
        "设备类别,设备代码,设备名称,设备地址,区县代码,使用单位编码,维保单位编码,上次检验日期,场所类别,"
        "attr.type,attr.rated_capacity_t,attr.span_m,attr.grade,attr.medium,attr.length_m"
    )
    place = f"通川区工业园1号,511702,{uu.code},{mu.code},2026-01-15"
    rows = [
        f"起重机械,41005117022020000001,1号桥式起重机,{place},厂矿企业,bridge,10,22.5,,,",
        f"crane,41005117022020000002,塔吊,{place},,tower,6,,,,",
        f"压力管道,GC-TC-0001,蒸汽管道,{place},,,,,GC2,蒸汽,850",
        f"起重机械,41005117022020000003,坏吊车,{place},,bridge,ten,,,,",
        f"核反应堆,X-0001,反应堆,{place},,,,,,,",
        f"起重机械,41005117022020000001,重复,{place},,bridge,5,,,,",
    ]
    csv_bytes = ("\n".join([header, *rows]) + "\n").encode("utf-8-sig")
    dry = _import(admin, csv_bytes, "equipment.csv", dry_run=True)
    assert (dry["rows"], dry["valid_rows"], dry["created"]) == (6, 3, 0)
    report = _import(admin, csv_bytes, "equipment.csv")
    assert report["created"] == 3
    errors = {e["row"]: e["errors"] for e in report["errors"]}
    assert set(errors) == {5, 6, 7}
    assert set(errors[5]) == {"attr.rated_capacity_t"}
    assert set(errors[6]) == {"equipment_class"}
    assert errors[7] == {"register_code": ["repeats row 2"]}
    with system.sessions() as session:
        got = {e.register_code: e for e in session.scalars(select(Equipment))}
    tower, pipe = got["41005117022020000002"], got["GC-TC-0001"]
    assert (tower.inspection_cycle_months, tower.next_inspection_due) == (12, date(2027, 1, 15))  # tower: yearly
    assert got["41005117022020000001"].inspection_cycle_months == 24
    assert pipe.attributes == {"grade": "GC2", "medium": "蒸汽", "length_m": 850.0}

    retired_id = tower.id
    assert admin.post(f"/api/v1/equipment/{retired_id}/retire", json={"reason": "拆除"}).status_code == 200
    book = Workbook()
    sheet = book.active
    sheet.append(["equipment_class", "register_code", "name", "address", "district_code", "use_unit_code",
                  "attr.type", "attr.rated_capacity_t"])  # fmt: skip
    sheet.append(
        ["crane", "41005117022020000001", "1号桥式起重机（更新）", "通川区工业园1号", "511702", uu.code, "bridge", 16]
    )
    sheet.append(["crane", "41005117022020000002", "塔吊", "通川区工业园1号", "511702", uu.code, "tower", 6])
    sheet.append(["boiler", "GC-TC-0001", "蒸汽管道", "通川区工业园1号", "511702", uu.code, "steam", None])
    data = io.BytesIO()
    book.save(data)
    report = _import(admin, data.getvalue(), "equipment.xlsx")
    assert report["updated"] == 1 and report["created"] == 0
    errors = {e["row"]: e["errors"] for e in report["errors"]}
    assert errors[3] == {"register_code": ["retired: a retired record is not changed"]}
    assert "equipment_class" in errors[4] or "attributes" in errors[4]
    with system.sessions() as session:
        bridge = session.scalar(select(Equipment).where(Equipment.register_code == "41005117022020000001"))
    assert bridge is not None and bridge.name == "1号桥式起重机（更新）" and bridge.attributes["rated_capacity_t"] == 16


def test_figures_count_expiries_per_class_and_coverage(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    now = today(system)
    dues = {
        "11005117022018000001": now - timedelta(days=3),
        "11005117022018000002": now + timedelta(days=20),
        "11005117022018000003": now + timedelta(days=50),
        "11005117022018000004": now + timedelta(days=300),
    }
    ids = {}
    for code, due in dues.items():
        r = admin.post("/api/v1/equipment", json=boiler(system, code, next_inspection_due=due.isoformat()))
        ids[code] = r.get_json()["id"]
    admin.post(f"/api/v1/equipment/{ids['11005117022018000004']}/retire", json={"reason": "报废"})

    figures = Client(app, "city_regulator").get("/api/v1/equipment/figures").get_json()
    rows = {r["equipment_class"]: r for r in figures["classes"]}
    assert list(rows) == ["elevator", *CLASSES]
    with system.sessions() as session:
        lifts = list(session.scalars(select(Elevator)))
        register = list(session.scalars(select(Equipment)))  # the seeded pieces and the four above
    for key in CLASSES:
        mine = [e for e in register if e.equipment_class == key]
        live = [e for e in mine if e.status != "retired"]
        dates = [e.next_inspection_due for e in live if e.next_inspection_due]
        assert rows[key] == {
            "equipment_class": key, "name_zh": CLASSES[key].name_zh, "name_en": CLASSES[key].name_en,
            "total": len(live), "in_use": sum(e.status == "in_use" for e in mine),
            "stopped": sum(e.status == "stopped" for e in mine), "retired": len(mine) - len(live),
            "expired": sum(d < now for d in dates), "due_30": sum(now <= d <= now + timedelta(days=30) for d in dates),
            "due_60": sum(now <= d <= now + timedelta(days=60) for d in dates),
        }, key  # fmt: skip
    assert rows["boiler"]["retired"] >= 1
    due = [e.next_inspection_due for e in lifts if e.next_inspection_due]
    assert rows["elevator"]["total"] == len(lifts)
    assert rows["elevator"]["expired"] == sum(1 for d in due if d < now)
    assert rows["elevator"]["due_30"] == sum(1 for d in due if now <= d <= now + timedelta(days=30))

    coverage = figures["coverage"]
    boxed = [e for e in lifts if e.device_id]
    assert (coverage["elevators"], coverage["with_box"]) == (len(lifts), len(boxed))
    assert coverage["boxes_per_elevator"] == round(len(boxed) / len(lifts), 4)
    for row in coverage["by_place_category"]:
        mine = [e for e in lifts if e.place_category == row["place_category"]]
        assert (row["elevators"], row["with_box"]) == (len(mine), sum(1 for e in mine if e.device_id))
    key = [e for e in lifts if e.key_place]
    assert coverage["key_places"]["elevators"] == len(key)

    # The screen's counters agree: per district, per class and the coverage add up to one another.
    def tally(pieces: list[Any]) -> dict[str, int]:
        dates = [e.next_inspection_due for e in pieces if e.next_inspection_due]
        return {
            "total": len(pieces),
            "expired": sum(d < now for d in dates),
            "due_30": sum(now <= d <= now + timedelta(days=30) for d in dates),
        }

    registers = {"elevator": lifts} | {
        k: [e for e in register if e.equipment_class == k and e.status != "retired"] for k in CLASSES
    }
    expected_rows = [
        {"equipment_class": k, "district_code": d, **tally([e for e in pieces if e.district_code == d])}
        for k, pieces in registers.items()
        for d in sorted({e.district_code for e in pieces})
    ]
    assert figures["by_district"] == expected_rows
    for k in registers:
        mine = [r for r in figures["by_district"] if r["equipment_class"] == k]
        for column in ("total", "expired", "due_30"):
            assert sum(r[column] for r in mine) == rows[k][column], (k, column)
    assert sum(c["elevators"] for c in coverage["by_place_category"]) == coverage["elevators"]
    assert coverage["elevators"] == rows["elevator"]["total"]
    assert sum(c["with_box"] for c in coverage["by_place_category"]) == coverage["with_box"]
    assert sum(c["key_place_elevators"] for c in coverage["by_place_category"]) == coverage["key_places"]["elevators"]

    district = Client(app, "regulator").get("/api/v1/equipment/figures").get_json()
    with system.sessions() as session:
        urban = session.scalar(select(District.code).where(District.code == "511702"))
    assert district["coverage"]["elevators"] == sum(1 for e in lifts if e.district_code == urban)

    points = Client(app, "city_regulator").get("/api/v1/equipment/map?equipment_class=boiler").get_json()
    ids_on_map = {p["id"] for p in points}
    assert {ids[c] for c in list(dues)[:3]} <= ids_on_map and ids[list(dues)[3]] not in ids_on_map  # retired: off
    boilers = [e for e in register if e.equipment_class == "boiler" and e.status != "retired" and e.lat is not None]
    assert ids_on_map == {e.id for e in boilers}
    assert sum(p["expired"] for p in points) == sum(1 for e in boilers if e.next_inspection_due < now)
