"""The elevator record beyond the portrait: manufacturer, model, factory number, installer, use
certificate, place category with the key-place flag, rated load and speed; through the API, the bulk
import (CSV and XLSX, per-row errors) and the per-device rated speed the overspeed rule reads.
SQLite and PostgreSQL."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from openpyxl import Workbook
from sqlalchemy import select

from connectors.mqtt.store import load_devices
from detectors.rules.thresholds import load_thresholds
from infra.clock import SimulatedClock
from processes.system import System
from registry.models import Device, Elevator, Organisation, OrgKind
from tests.support.api_client import Client, app_for
from tests.support.system import make_system


@pytest.fixture
def api(db_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=40)
    yield system, app_for(system)
    system.db.dispose()


def org(system: System, kind: OrgKind) -> Organisation:
    with system.sessions() as session:
        found = session.scalars(select(Organisation).where(Organisation.kind == kind).order_by(Organisation.id)).first()
        assert found is not None
        return found


def test_seeded_elevators_carry_their_record(api: tuple[System, Flask]) -> None:
    system, _ = api
    with system.sessions() as session:
        lifts = list(session.scalars(select(Elevator)))
        makers = {o.id for o in session.scalars(select(Organisation).where(Organisation.kind == OrgKind.MANUFACTURER))}
    assert makers and all(e.manufacturer_id in makers and e.model and e.rated_speed for e in lifts)
    assert all(
        e.key_place == (e.place_category in {"school", "hospital", "station", "mall", "elderly_home"}) for e in lifts
    )


def test_register_and_change_an_elevator_with_its_record(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    uu, mu = org(system, OrgKind.USE_UNIT).id, org(system, OrgKind.MAINTENANCE_UNIT).id
    maker, installer = org(system, OrgKind.MANUFACTURER), org(system, OrgKind.INSTALLER)
    body = {
        "register_code": "31105117022015999101", "address": "通川区朝阳东路1号市第一中学教学楼1号客梯",
        "district_code": "511702", "lat": 31.21, "lon": 107.5, "use_unit_id": uu, "maintenance_unit_id": mu,
        "installed_on": "2015-06-01", "manufacturer_id": maker.id, "model": "GeN2", "factory_number": "15000123",
        "installer_id": installer.id, "use_certificate_no": "梯11SC0001(15)", "place_category": "school",
        "rated_load_kg": 1000, "rated_speed": 1.75,
    }  # fmt: skip
    r = admin.post("/api/v1/elevators", json=body)
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["key_place"] is True and created["rated_speed"] == 1.75  # a school is a key place
    detail = admin.get(f"/api/v1/elevators/{created['id']}").get_json()
    assert (detail["manufacturer"], detail["installer"]) == (maker.name, installer.name)
    assert admin.get("/api/v1/elevators?key_place=true&place_category=school").get_json()[-1]["id"] == created["id"]

    patched = admin.patch(f"/api/v1/elevators/{created['id']}", json={"place_category": "residential"}).get_json()
    assert patched["key_place"] is False  # the flag follows the category unless sent
    patched = admin.patch(f"/api/v1/elevators/{created['id']}", json={"key_place": True}).get_json()
    assert patched["key_place"] is True and patched["place_category"] == "residential"

    wrong = admin.post(
        "/api/v1/elevators", json={**body, "register_code": "31105117022015999102", "manufacturer_id": uu}
    )
    assert wrong.status_code == 422 and "manufacturer_id" in wrong.get_json()["errors"]
    bad = admin.post(
        "/api/v1/elevators",
        json={**body, "register_code": "31105117022015999103", "rated_speed": 42, "place_category": "castle"},
    )
    assert bad.status_code == 422
    assert {"rated_speed", "place_category"} <= set(bad.get_json()["errors"])


def test_organisation_kinds_manufacturer_and_installer(api: tuple[System, Flask]) -> None:
    _, app = api
    admin = Client(app, "admin")
    for kind, code in (("manufacturer", "MF-99"), ("installer", "IN-99")):
        r = admin.post("/api/v1/organisations", json={"code": code, "name": f"测试{kind}有限公司", "kind": kind})
        assert r.status_code == 201 and r.get_json()["kind"] == kind


def _import(admin: Client, data: bytes, name: str) -> dict:
    r = admin.post(
        "/api/v1/elevators/import", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_import_reads_the_record_columns_with_per_row_errors(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    uu, mu = org(system, OrgKind.USE_UNIT).code, org(system, OrgKind.MAINTENANCE_UNIT).code
    maker, installer = org(system, OrgKind.MANUFACTURER).code, org(system, OrgKind.INSTALLER).code
    header = (
        "设备注册代码,安装地址,区县代码,纬度,经度,使用单位编码,维保单位编码,安装日期,"
        "制造单位编码,型号,出厂编号,安装单位编码,使用登记证编号,场所类别,重点场所,额定载重量,额定速度"
    )
    base = f"511702,31.2,107.5,{uu},{mu},2016-05-01"
    rows = [
        f"31105117022016000201,医院门诊楼1号,{base},{maker},HGP,16000201,{installer},梯11A(16),医院,,1350,2.0",
        f"31105117022016000202,住宅1栋,{base},{maker},GeN2,16000202,,,住宅,是,800,1.0",
        f"31105117022016000203,坏行,{base},{mu},X,1,{uu},,城堡,也许,heavy,99",
    ]
    report = _import(admin, ("\n".join([header, *rows]) + "\n").encode("utf-8-sig"), "lifts.csv")
    assert report["created"] == 2, report
    (bad,) = report["errors"]
    assert bad["row"] == 4
    assert set(bad["errors"]) == {
        "manufacturer_code", "installer_code", "place_category", "key_place", "rated_load_kg", "rated_speed"
    }  # fmt: skip
    with system.sessions() as session:
        hospital = session.scalar(select(Elevator).where(Elevator.register_code == "31105117022016000201"))
        home = session.scalar(select(Elevator).where(Elevator.register_code == "31105117022016000202"))
    assert hospital is not None and home is not None
    assert (hospital.place_category, hospital.key_place, hospital.rated_load_kg, hospital.rated_speed) == (
        "hospital", True, 1350, 2.0
    )  # fmt: skip
    assert (home.place_category, home.key_place, home.installer_id) == ("residential", True, None)  # said 是

    book = Workbook()
    sheet = book.active
    sheet.append(header.split(","))
    sheet.append(["31105117022016000201", "医院门诊楼1号", "511702", 31.2, 107.5, uu, mu, None,
                  None, "HGP-2", None, None, None, None, None, None, 2.5])  # fmt: skip
    data = io.BytesIO()
    book.save(data)
    report = _import(admin, data.getvalue(), "lifts.xlsx")
    assert report["updated"] == 1 and report["errors"] == []
    with system.sessions() as session:
        hospital = session.scalar(select(Elevator).where(Elevator.register_code == "31105117022016000201"))
    assert hospital is not None and (hospital.model, hospital.rated_speed, hospital.key_place) == ("HGP-2", 2.5, True)


def test_the_ingest_judges_overspeed_against_the_register_rated_speed(api: tuple[System, Flask]) -> None:
    system, _ = api
    with system.sessions() as session, session.begin():
        boxes = {d.id: d.elevator_id for d in session.scalars(select(Device))}
        first, second = sorted(boxes)[:2]
        session.get(Elevator, boxes[first]).rated_speed = None  # type: ignore[union-attr]
        session.get(Elevator, boxes[second]).rated_speed = 2.5  # type: ignore[union-attr]
    views = load_devices(system.sessions, load_thresholds(system.settings.detector_thresholds))
    assert views[second].thresholds.rated_speed_mps == 2.5
    assert views[first].thresholds.rated_speed_mps is None  # no rated speed on record: the rule is off
